"""June (email marketing): export segments to contact lists."""
