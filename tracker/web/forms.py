"""The web forms; Flask-WTF adds the CSRF token to each."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField(
        "Email or mobile number",
        validators=[DataRequired("Enter your email or mobile number."), Length(max=254)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "Choose a password",
        validators=[DataRequired("Choose a password."), Length(max=200)],
        render_kw={"autocomplete": "new-password"},
        description="At least 10 characters. A short sentence is easy to remember.",
    )
    confirm = PasswordField(
        "Type it again",
        validators=[DataRequired("Type the password again."), EqualTo("password", "The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class LogoutForm(FlaskForm):
    """Logging out is a POST with a token, so another site cannot log a clinician out."""


class AddStaffForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter an email address."), Length(max=254)])
    role = SelectField(
        "Role", choices=[SelectChoice("clinician", "Clinician"), SelectChoice("admin", "Admin")], default="clinician"
    )
    password = PasswordField(
        "Temporary password",
        validators=[DataRequired("Enter a temporary password."), Length(max=200)],
        render_kw={"autocomplete": "new-password"},
    )


class ConfirmForm(FlaskForm):
    """A button that changes something: only its CSRF token."""
