"""The recruiter's home at /app/."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import Membership


@login_required
def home(request):
    memberships = (
        Membership.objects.filter(user=request.user, tenant__active=True).select_related("tenant").order_by("tenant__name")
    )
    return render(request, "tenants/home.html", {"memberships": memberships})
