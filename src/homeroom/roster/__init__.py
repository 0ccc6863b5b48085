"""Rostering: districts, schools, sections, enrollments and users."""
