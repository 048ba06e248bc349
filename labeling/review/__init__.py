"""The item page, its history and comments, review for every task type, and going back."""
