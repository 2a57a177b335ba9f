"""Locust user classes: ChatUser (Socket.IO), ApiUser (REST), UploadUser (presign, storage, read)."""
