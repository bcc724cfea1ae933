"""The French mails of the identity service: (subject, body) pairs. No password is ever mailed."""

SIGNATURE = """
--
Espace Famille - Ville de Donges
Mairie : 02 40 45 79 79
Ce message est envoyé automatiquement, merci de ne pas y répondre."""


def _minutes(delta):
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} heure{'s' if minutes >= 120 else ''}" if minutes % 60 == 0 and minutes >= 60 \
        else f"{minutes} minutes"


def confirm_new_account(first_name, username, link):
    return ("Bienvenue sur l'Espace Famille : confirmez votre adresse e-mail", f"""Bonjour {first_name},

Votre Espace Famille est créé. Votre identifiant est : {username}

Pour confirmer votre adresse e-mail, suivez ce lien :
{link}

Si vous n'êtes pas à l'origine de cette demande, prévenez la mairie.
{SIGNATURE}""")


def confirm_new_email(username, link):
    return ("Confirmez votre nouvelle adresse e-mail", f"""Bonjour,

Une nouvelle adresse e-mail a été indiquée pour l'Espace Famille de l'identifiant {username}.
Pour la confirmer, suivez ce lien :
{link}
{SIGNATURE}""")


def email_change_notice(username, new_email):
    return ("Changement de votre adresse e-mail", f"""Bonjour,

Une demande de changement d'adresse e-mail a été faite pour l'Espace Famille de l'identifiant {username}.
La nouvelle adresse, {new_email}, sera utilisée dès qu'elle aura été confirmée.

Si vous n'êtes pas à l'origine de cette demande, changez votre mot de passe et prévenez la mairie.
{SIGNATURE}""")


def password_reset(username, link, validity):
    return ("Réinitialisation de votre mot de passe", f"""Bonjour,

Pour rappel, votre identifiant est : {username}

Pour choisir un nouveau mot de passe, suivez ce lien, valable {_minutes(validity)} et une seule fois :
{link}

Si vous n'avez rien demandé, ignorez ce message : votre mot de passe reste inchangé.
{SIGNATURE}""")


def password_changed(username):
    return ("Votre mot de passe a été modifié", f"""Bonjour,

Le mot de passe de l'Espace Famille de l'identifiant {username} vient d'être modifié.
Si vous n'êtes pas à l'origine de ce changement, utilisez « mot de passe oublié » et prévenez la mairie.
{SIGNATURE}""")
