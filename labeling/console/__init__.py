"""The manager's console: the data manager, its bulk actions and live dashboards."""
