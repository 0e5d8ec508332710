"""The clinic's medicines to review before an infusion (CLINICAL.md §7), a part of the admin's settings."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField

from tracker import medicine_review
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.services.clinic import medicines
from tracker.web.admin import bp
from tracker.web.roles import admin_required


class ReviewListForm(FlaskForm):
    review_medicines = TextAreaField(
        "Medicines to review before an infusion",
        description=medicine_review.FORMAT,
        render_kw={"rows": 8},
    )


@bp.route("/settings/medicines", methods=["GET", "POST"])
@admin_required
def review_medicines() -> ResponseReturnValue:
    clinic = current_user.clinic
    form = ReviewListForm(data={"review_medicines": medicines.review_text(medicines.review_entries(clinic))})
    status = 200
    if form.validate_on_submit():
        try:
            entries = medicines.set_review_list(current_user, clinic, form.review_medicines.data or "")
        except Invalid as error:
            db.session.rollback()
            form.review_medicines.errors = [p.message[:1].upper() + p.message[1:] for p in error.problems]
            status = 422
        else:
            flash(f"Saved: {len(entries)} {'entry' if len(entries) == 1 else 'entries'} to review.")
            return redirect(url_for("admin.review_medicines"))
    elif form.is_submitted():
        status = 422
    return render_template("admin/medicines.html", form=form), status
