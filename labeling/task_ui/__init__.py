"""Task UIs: the template sandbox, Liquid, signed media links, built-in and custom templates."""
