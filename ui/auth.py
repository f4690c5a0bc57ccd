"""Who is using the portal: the hospital's OIDC login (Streamlit ``st.login``) or a local account.

* **OIDC** (production): when ``.streamlit/secrets.toml`` has an ``[auth]`` section (generated at
  deployment, never committed; ``expose_tokens = ["access"]`` so the portal can forward the user's
  access token), the portal shows « Se connecter » → ``st.login()`` → the provider (Keycloak...). The
  API verifies that token against the provider's JWKS, exactly as for any other client.
* **Local account** (demo): a username/password form; the API checks it (``POST /auth/login``,
  argon2 hashes) and returns a short-lived token, kept in this browser session only.

Either way the API decides the role from the token; the sidebar shows who is logged in and as what.
``sidebar_login`` is looked up on this module at call time so tests can replace it.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from ui import client as api

_SESSION_KEY = "auth"
ROLE_LABELS = {"clinician": "clinicien", "researcher": "chercheur (vue pseudonymisée)", "admin": "administrateur",
               "auditor": "auditeur (DPO)"}


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets.toml at all: Streamlit raises its own error type
        return False


def _oidc_login(api_url: str, timeout: float) -> api.Login | None:
    user = st.user
    if not user.is_logged_in:
        st.sidebar.button("Se connecter (SSO de l'hôpital)", on_click=st.login, type="primary", key="sso-login")
        return None
    tokens: Any = getattr(user, "tokens", {}) or {}
    token = tokens.get("access") or tokens.get("id")
    if not token:
        st.sidebar.error("Le fournisseur d'identité n'expose pas de jeton : ajoutez expose_tokens = [\"access\"] à [auth].")
        return None
    with api.make_client(api_url, str(user.get("preferred_username") or user.get("email") or ""), timeout, token=token) as client:
        me = client.whoami()
    return api.Login(token, str(me["user"]), str(me["role"]), 0, tuple(me.get("roles") or ()), str(me.get("name") or ""))


#: why the login form is back, said above it (a silent form read as a bug: « on m'a déconnecté »)
EXPIRED = "Session expirée — reconnectez-vous."
RELOADED = ("Page rechargée : reconnectez-vous (la session n'est jamais gardée dans le navigateur). "
            "La recherche en cours sera rouverte.")


def _local_login(api_url: str, timeout: float) -> api.Login | None:
    """The local account of this browser session, or the login form (with why it is shown again).

    The token lives in the server-side session only: a reload starts a new session, hence a new login.
    Why not persisted in the browser: Streamlit cannot set an HttpOnly cookie for a local login, and a
    token in ``localStorage`` or a script-set cookie is readable by any injected script (README,
    Security, « Sessions and page reloads »). Hospital SSO logins (:func:`_oidc_login`) do survive a reload: Streamlit keeps them
    in its own HttpOnly cookie."""
    stored = st.session_state.get(_SESSION_KEY)
    if stored and stored["expires_at"] > time.time() + 30:
        return stored["login"]
    st.session_state.pop(_SESSION_KEY, None)
    if stored:
        st.sidebar.warning(EXPIRED)
    elif any(key != "page" for key in st.query_params):  # the address keeps the screen: a reload, or a shared link
        st.sidebar.info(RELOADED)
    with st.sidebar.form("login", clear_on_submit=True):
        st.markdown("**Connexion**")
        username = st.text_input("Identifiant", key="login-user")
        password = st.text_input("Mot de passe", type="password", key="login-password")
        submitted = st.form_submit_button("Se connecter", type="primary")
    if submitted:
        try:
            login = api.login(api_url, username.strip(), password, timeout)
        except api.ApiError as exc:
            from ui.messages import french  # the API answers in English (« too many requests… »)

            st.sidebar.error("Identifiant ou mot de passe incorrect." if exc.status == 401 else f"Connexion impossible : {french(exc.message)}")
            return None
        st.session_state[_SESSION_KEY] = {"login": login, "expires_at": time.time() + login.expires_in}
        st.rerun()  # draw the page again without the login form (this run already drew it)
    return None


def log_out() -> None:
    """Forget everything this browser session holds, not only the token.

    The session keeps the last results, the patients' page, the cohort being built, cached pictures
    and exports: all drawn from the previous user's rights (identified patients for a clinician). The
    next person to log in at this screen (a researcher, say) must not be shown any of it; the URL
    (query, ``?patient=IPP``, ``?doc=``) is cleared too."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.query_params.clear()


def signed_in_markdown(login: api.Login) -> str:
    """« Connecté : **Dr Marie Martin** (dr.martin) — clinicien, administrateur » for the sidebar.

    Why the name and every role: a shared ward workstation showed only « clinicien » (the login), so
    the next physician could not tell whose session was open, nor that it also had the admin rights.
    Markdown-escaped: a display name comes from the account file or the identity provider."""
    labels = [ROLE_LABELS.get(r, r) for r in (login.roles or (login.role,))]
    if login.role in login.roles:  # the API's main role first
        labels.remove(ROLE_LABELS.get(login.role, login.role))
        labels.insert(0, ROLE_LABELS.get(login.role, login.role))
    who = f"**{_md(login.name)}** ({_md(login.user)})" if login.name and login.name != login.user else f"**{_md(login.user)}**"
    return f"👤 Connecté : {who} — {', '.join(labels)}"


def _md(text: str) -> str:
    """*text* with Markdown's inline special characters escaped (a name like « Dr *X* » stays literal).
    Line-start markers (``#``, ``-``, ``1.``) cannot apply: the text never starts a line, so « dr.demo »
    stays as typed."""
    return "".join(f"\\{c}" if c in "\\`*_[]()<>|~" else c for c in text)


def sidebar_login(api_url: str, timeout: float) -> api.Login | None:
    """The logged-in user (drawing the login control when there is none) and a logout button."""
    login = _oidc_login(api_url, timeout) if _oidc_configured() else _local_login(api_url, timeout)
    if login is None:
        st.info("Connectez-vous dans la barre latérale (sur un petit écran : bouton » en haut à gauche) pour rechercher : l'accès aux données patients est nominatif et journalisé.")
        return None
    st.sidebar.markdown(signed_in_markdown(login))
    if st.sidebar.button("Se déconnecter", key="logout"):
        log_out()
        if _oidc_configured():
            st.logout()
        st.rerun()
    return login
