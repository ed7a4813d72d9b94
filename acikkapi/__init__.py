"""Açık Kapı: the citizen request system of Turkish governorships."""
