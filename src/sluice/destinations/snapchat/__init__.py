"""Snapchat customer lists (Snap Marketing API audience segments): export segments as hashed lists."""
