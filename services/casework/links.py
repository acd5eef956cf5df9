"""File links: `GET /files/<digest>?variant=&token=`, opened by the short-lived link token
the file list gave (an <img> sends no bearer header; shared/auth.py read_file_link)."""
from flask import Blueprint, request

from . import files

blp = Blueprint("file_links", __name__)


@blp.get("/files/<digest>")
def open(digest):
    variant = request.args.get("variant", "file")
    return files.served(files.by_link(digest, variant, request.args.get("token")), digest)
