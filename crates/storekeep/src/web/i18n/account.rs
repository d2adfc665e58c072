//! The sign-in, sign-up and account pages' strings.

use super::Lang;

#[derive(Debug)]
pub struct AccountMsgs {
    pub sign_in_title: &'static str,
    pub sign_up_title: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub password_hint: &'static str,
    pub name: &'static str,
    pub sign_in: &'static str,
    pub sign_up: &'static str,
    pub sign_out: &'static str,
    pub no_account: &'static str,
    pub have_account: &'static str,
    pub wrong: &'static str,
    pub locked: &'static str,
    pub code_title: &'static str,
    pub code: &'static str,
    pub code_wrong: &'static str,
    pub code_expired: &'static str,
    pub verify: &'static str,
    pub taken: &'static str,
    pub problem: &'static str,
    pub account_title: &'static str,
    pub signed_in_as: &'static str,
    pub orders: &'static str,
    pub no_orders: &'static str,
    /// The account page's link to `/account/rentals` (i17).
    pub rentals: &'static str,
}

pub const EN: AccountMsgs = AccountMsgs {
    sign_in_title: "Sign in",
    sign_up_title: "Create an account",
    email: "Email",
    password: "Password",
    password_hint: "At least 12 characters.",
    name: "Name (optional)",
    sign_in: "Sign in",
    sign_up: "Create account",
    sign_out: "Sign out",
    no_account: "No account yet?",
    have_account: "Already have an account?",
    wrong: "The email or password is wrong.",
    locked: "Too many failed sign-ins. Try again in {secs} seconds.",
    code_title: "Two-step verification",
    code: "Code from your authenticator app, or a recovery code",
    code_wrong: "The code is wrong.",
    code_expired: "The sign-in took too long. Please start again.",
    verify: "Verify",
    taken: "An account with this email exists: sign in, or reset the password.",
    problem: "Please correct the fields marked below.",
    account_title: "Your account",
    signed_in_as: "Signed in as {name}.",
    orders: "Your orders",
    no_orders: "No orders yet.",
    rentals: "Your rentals",
};

pub const DE: AccountMsgs = AccountMsgs {
    sign_in_title: "Anmelden",
    sign_up_title: "Konto anlegen",
    email: "E-Mail",
    password: "Passwort",
    password_hint: "Mindestens 12 Zeichen.",
    name: "Name (optional)",
    sign_in: "Anmelden",
    sign_up: "Konto anlegen",
    sign_out: "Abmelden",
    no_account: "Noch kein Konto?",
    have_account: "Sie haben schon ein Konto?",
    wrong: "E-Mail oder Passwort ist falsch.",
    locked: "Zu viele fehlgeschlagene Anmeldungen. Versuchen Sie es in {secs} Sekunden erneut.",
    code_title: "Bestätigung in zwei Schritten",
    code: "Code aus Ihrer Authenticator-App oder ein Wiederherstellungscode",
    code_wrong: "Der Code ist falsch.",
    code_expired: "Die Anmeldung hat zu lange gedauert. Bitte beginnen Sie erneut.",
    verify: "Bestätigen",
    taken: "Zu dieser E-Mail gibt es schon ein Konto: Melden Sie sich an oder setzen Sie das Passwort zurück.",
    problem: "Bitte korrigieren Sie die markierten Felder.",
    account_title: "Ihr Konto",
    signed_in_as: "Angemeldet als {name}.",
    orders: "Ihre Bestellungen",
    no_orders: "Noch keine Bestellungen.",
    rentals: "Ihre Mietverträge",
};

pub fn get(lang: Lang) -> &'static AccountMsgs {
    match lang {
        Lang::En => &EN,
        Lang::De => &DE,
    }
}
