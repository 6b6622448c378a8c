"""PE-AV-style audio/video/text encoders (see issue: encoders)."""
