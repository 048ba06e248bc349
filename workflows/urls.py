"""Routes of the review-loop pages in the manager console (/console/flows/…)."""

urlpatterns: list = []
