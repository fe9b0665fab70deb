"""What the private storage holds, on local disk or S3 alike."""

from common import files


def stored_names(folder: str = "") -> list[str]:
    """Every file in the private storage, by storage name, sorted."""
    try:
        folders, names = files.private_storage.listdir(folder)
    except FileNotFoundError:
        return []
    found = [f"{folder}/{name}" if folder else name for name in names]
    for sub in folders:
        found += stored_names(f"{folder}/{sub}" if folder else sub)
    return sorted(found)
