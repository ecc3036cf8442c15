"""The advocate client: API calls, and decryption on the advocate's own device."""
