"""Rendering for people: HTML maps (:mod:`geoplan.maps.html`), static A4 maps for the written plan
(:mod:`geoplan.maps.static`) and printed atlases (:mod:`geoplan.maps.print`).

Rendering lives at the edge: these modules take the tables and layers the
computing modules return and never compute analyses themselves.
"""
