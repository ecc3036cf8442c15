"""The voice channel: Twilio Programmable Voice IVR, live hand-off and encrypted voicemail.

Kept import-free: the config loader imports ``voice.settings`` through this
package, so the routes (``routes.add_routes``) live in their own module.
"""
