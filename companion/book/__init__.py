"""Tools that build the course's publications from its chapters (site, reader notebooks)."""
