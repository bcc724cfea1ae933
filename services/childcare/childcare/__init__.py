"""The childcare service: the multi-accueil crèche, its slots, bookings, contracts and absences."""
