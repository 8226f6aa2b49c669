"""Every route of the meal plan, for the app to mount."""

from __future__ import annotations

from backend.meals.api import routes as api_routes
from backend.meals.checkin_routes import routes as checkin_routes
from backend.meals.fix_routes import routes as fix_routes
from backend.meals.pages import routes as page_routes

routes = [*page_routes, *checkin_routes, *fix_routes, *api_routes]
