"""The canteen service: schools, calendar, menus, meal reservations, absences and attendance."""
