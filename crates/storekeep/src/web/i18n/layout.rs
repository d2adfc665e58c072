//! The layout's strings: header, navigation, footer, error pages.

use super::Lang;

#[derive(Debug)]
pub struct LayoutMsgs {
    pub skip_to_content: &'static str,
    pub home: &'static str,
    pub main_nav: &'static str,
    pub search_label: &'static str,
    pub search_button: &'static str,
    pub deals: &'static str,
    pub cart: &'static str,
    pub account: &'static str,
    pub sign_in: &'static str,
    pub terms: &'static str,
    pub privacy: &'static str,
    pub returns: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub error_title: &'static str,
    pub error_text: &'static str,
    pub unavailable_text: &'static str,
    pub too_many_text: &'static str,
    pub back_home: &'static str,
}

pub const EN: LayoutMsgs = LayoutMsgs {
    skip_to_content: "Skip to content",
    home: "Home",
    main_nav: "Main",
    search_label: "Search the shop",
    search_button: "Search",
    deals: "Deals",
    cart: "Cart",
    account: "Account",
    sign_in: "Sign in",
    terms: "Terms",
    privacy: "Privacy",
    returns: "Returns",
    not_found_title: "Page not found",
    not_found_text: "There is nothing at this address.",
    error_title: "Something went wrong",
    error_text: "This page could not be shown. Please try again in a moment.",
    unavailable_text: "The shop is busy right now. Please try again in a moment.",
    too_many_text: "Too many requests from your address. Please wait a minute and try again.",
    back_home: "Back to the shop",
};

pub const DE: LayoutMsgs = LayoutMsgs {
    skip_to_content: "Zum Inhalt springen",
    home: "Startseite",
    main_nav: "Hauptmenü",
    search_label: "Im Shop suchen",
    search_button: "Suchen",
    deals: "Angebote",
    cart: "Warenkorb",
    account: "Konto",
    sign_in: "Anmelden",
    terms: "AGB",
    privacy: "Datenschutz",
    returns: "Rückgabe",
    not_found_title: "Seite nicht gefunden",
    not_found_text: "Unter dieser Adresse gibt es nichts.",
    error_title: "Etwas ist schiefgegangen",
    error_text: "Diese Seite konnte nicht angezeigt werden. Bitte versuchen Sie es gleich noch einmal.",
    unavailable_text: "Der Shop ist gerade ausgelastet. Bitte versuchen Sie es gleich noch einmal.",
    too_many_text: "Zu viele Anfragen von Ihrer Adresse. Bitte warten Sie eine Minute und versuchen Sie es dann noch einmal.",
    back_home: "Zurück zum Shop",
};

pub fn get(lang: Lang) -> &'static LayoutMsgs {
    match lang {
        Lang::En => &EN,
        Lang::De => &DE,
    }
}
