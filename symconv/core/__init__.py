"""Text to model: errors, integer semantics, the parser, the frameworks' conventions, layers and window maps."""
