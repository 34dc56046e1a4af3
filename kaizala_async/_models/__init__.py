"""attrs models of the API's answers and of the request bodies that need a type (actions).

Answers are decoded by the one cattrs converter (``_converter``): keys match case-insensitively,
unknown keys are ignored, and every field the API reference does not guarantee is optional.
"""
