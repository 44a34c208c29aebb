"""What serves the book's pages: set-up, profiles, claims, glue, plotting style and figures."""
