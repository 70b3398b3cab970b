"""Watch mode and the dev server: rebuild on change, serve dist/ with live reload."""
