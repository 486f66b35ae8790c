from django import forms

from optout.services import MAX_SUBJECTS_PER_REQUEST


class SubmitRequestForm(forms.Form):
    subjects = forms.CharField(
        label="Repositories or namespaces",
        widget=forms.Textarea(
            attrs={"rows": 6, "placeholder": "octocat/hello-world\ngithub.com/octocat"}
        ),
        help_text=(
            f"One per line, up to {MAX_SUBJECTS_PER_REQUEST}: owner/name, a URL, or host/owner "
            "for every repository of a user or organisation."
        ),
        max_length=MAX_SUBJECTS_PER_REQUEST * 600,
    )
    contact_email = forms.EmailField(
        label="Contact e-mail", help_text="We write here at every step."
    )
    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )
