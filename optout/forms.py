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
            "for every repository of a user or organisation (gitlab.com/group/subgroup/* for "
            "a GitLab subgroup)."
        ),
        max_length=MAX_SUBJECTS_PER_REQUEST * 600,
        error_messages={"required": "Enter at least one repository or namespace, one per line."},
    )
    contact_email = forms.EmailField(
        label="Contact e-mail",
        help_text="We write here at every step.",
        error_messages={
            "required": "Enter the e-mail address we should write to.",
            "invalid": "Enter a whole e-mail address, such as name@example.org.",
        },
    )
    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label="Why (optional)", required=False, max_length=2000, widget=forms.TextInput
    )
    confirm = forms.BooleanField(
        label="Yes, put my code back into future dataset versions",
        error_messages={"required": "Tick the box to confirm that you want to opt back in."},
    )


class LinksForm(forms.Form):
    contact_email = forms.EmailField(
        label="Contact e-mail",
        help_text="The address you gave when you submitted your requests.",
        max_length=254,
        error_messages={
            "required": "Enter the e-mail address you gave with your requests.",
            "invalid": "Enter a whole e-mail address, such as name@example.org.",
        },
    )
