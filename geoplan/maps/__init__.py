"""Rendering for people: HTML maps (:mod:`geoplan.maps.html`) and printed atlases (:mod:`geoplan.maps.print`).

Rendering lives at the edge: these modules take the tables and layers the
computing modules return and never compute analyses themselves.
"""
