"""Analysis: pure functions over articles (text, relevance, stories, themes, framing)."""
