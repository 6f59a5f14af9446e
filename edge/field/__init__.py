"""Field service: what a technician runs on the box (backups and restore, the doctor)."""
