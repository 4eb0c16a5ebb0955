//! The catalogue's words about programs and paths in French: what a recipe can make each
//! declared program do, and what writing a declared path can lead to. The engine writes these
//! phrases (`Policy::power`, `feeds.rs`), so it carries their translations, as a recipe carries
//! its own; a test holds every phrase to having one, so a new policy cannot reach a French page
//! in English.
//!
//! Keyed by the English phrase as written (with its `{paths}` part).

/// English phrase → French phrase.
const WORDS: &[(&str, &str)] = &[
    // Programs.
    (
        "extracts archives into {paths}",
        "décompresse des archives dans {paths}",
    ),
    (
        "makes symbolic links within {paths}",
        "crée des liens symboliques dans {paths}",
    ),
    (
        "removes files and folders under {paths}",
        "supprime des fichiers et dossiers sous {paths}",
    ),
    (
        "changes permission bits (never setuid, setgid or sticky) under {paths}",
        "change les droits (jamais setuid, setgid ni sticky) sous {paths}",
    ),
    (
        "changes the owner of files under {paths}",
        "change le propriétaire de fichiers sous {paths}",
    ),
    (
        "makes folders under {paths}",
        "crée des dossiers sous {paths}",
    ),
    (
        "creates empty files and sets file times under {paths}",
        "crée des fichiers vides et règle les dates de fichiers sous {paths}",
    ),
    ("prints its version", "affiche sa version"),
    (
        "fetches an http(s) URL and prints it (writes no file)",
        "télécharge une URL http(s) et l’affiche (n’écrit aucun fichier)",
    ),
    (
        "makes SSH key pairs under {paths} and prints keys",
        "crée des paires de clés SSH sous {paths} et affiche des clés",
    ),
    (
        "lists network sockets (read-only)",
        "liste les sockets réseau (lecture seule)",
    ),
    (
        "installs Debian packages from the server's configured archives (through apt_install); \
         run directly it only prints its version",
        "installe des paquets Debian depuis les dépôts configurés du serveur (par apt_install) ; \
         lancé directement, il affiche seulement sa version",
    ),
    (
        "shows what packages are available and installed (read-only)",
        "montre les paquets disponibles et installés (lecture seule)",
    ),
    (
        "shows what packages are available (read-only)",
        "montre les paquets disponibles (lecture seule)",
    ),
    (
        "shows what packages are installed and compares versions (read-only)",
        "montre les paquets installés et compare des versions (lecture seule)",
    ),
    (
        "shows what packages are installed (read-only)",
        "montre les paquets installés (lecture seule)",
    ),
    (
        "nothing: it may be declared but not run",
        "rien : il peut être déclaré mais pas lancé",
    ),
    (
        "reports the state of services (is-active, is-enabled, status, show); starting and \
         stopping goes through the service helpers",
        "indique l’état des services (is-active, is-enabled, status, show) ; les démarrer et les \
         arrêter passe par les fonctions de service",
    ),
    (
        "reports the status of the declared services through their init scripts",
        "indique l’état des services déclarés par leurs scripts d’init",
    ),
    ("does nothing but exit", "ne fait que se terminer"),
    ("prints its arguments", "affiche ses arguments"),
    ("prints numbers", "affiche des nombres"),
    ("waits", "attend"),
    ("prints its environment", "affiche son environnement"),
    (
        "prints the date (never sets it)",
        "affiche la date (ne la règle jamais)",
    ),
    (
        "prints its stdin, or files under {paths}",
        "affiche son entrée, ou des fichiers sous {paths}",
    ),
    (
        "lists folders (read-only)",
        "liste des dossiers (lecture seule)",
    ),
    (
        "runs SQL as the PostgreSQL superuser: roles, databases, grants, catalog queries and a \
         few session and listen settings (no server-side programs, files or libraries)",
        "exécute du SQL en superutilisateur PostgreSQL : rôles, bases, droits, requêtes sur le \
         catalogue et quelques réglages de session et d’écoute (ni programmes côté serveur, ni \
         fichiers, ni bibliothèques)",
    ),
    (
        "checks whether a local PostgreSQL server accepts connections",
        "vérifie si un serveur PostgreSQL local accepte les connexions",
    ),
    (
        "starts, stops, restarts, reloads or reports on a PostgreSQL cluster",
        "démarre, arrête, redémarre, recharge une grappe PostgreSQL ou indique son état",
    ),
    (
        "deletes a PostgreSQL cluster for good: its data folder, its configuration \
         folder and its log (stopping it first with --stop)",
        "supprime définitivement une grappe PostgreSQL : son dossier de données, son dossier de \
         configuration et son journal (en l’arrêtant d’abord avec --stop)",
    ),
    (
        "runs SQL as the MariaDB root account over its socket: users, databases, grants on \
         databases and catalog queries (no files, plugins or functions loaded by the server)",
        "exécute du SQL avec le compte root de MariaDB par son socket : utilisateurs, bases, \
         droits sur les bases et requêtes sur le catalogue (ni fichiers, ni greffons, ni \
         fonctions chargés par le serveur)",
    ),
    (
        "administers a local Redis: PING, INFO, ACL users, CONFIG GET, CONFIG SET of memory, \
         network and password settings, CONFIG REWRITE (no modules, scripts, replication or \
         file locations)",
        "administre un Redis local : PING, INFO, utilisateurs ACL, CONFIG GET, CONFIG SET des \
         réglages de mémoire, de réseau et de mot de passe, CONFIG REWRITE (ni modules, ni \
         scripts, ni réplication, ni emplacements de fichiers)",
    ),
    (
        "prints its version (the server is started by the service helpers)",
        "affiche sa version (le serveur est démarré par les fonctions de service)",
    ),
    // Programs of the recipe's own, and refusals (`describe`).
    (
        "no path (the recipe declares none)",
        "aucun chemin (la recette n’en déclare pas)",
    ),
    (
        "its own program (the recipe may write {paths}, where the name is looked up): runs \
         anything, as root",
        "son propre programme (la recette peut écrire {paths}, où le nom est cherché) : lance \
         n’importe quoi, en root",
    ),
    (
        "its own program (a file the recipe writes or downloads): runs anything, as root",
        "son propre programme (un fichier que la recette écrit ou télécharge) : lance n’importe \
         quoi, en root",
    ),
    (
        "refused: Cairn has no policy for it",
        "refusé : Cairn n’a pas de politique pour lui",
    ),
    // Paths (`feeds.rs`).
    ("may write here; {paths}", "peut écrire ici ; {paths}"),
    (
        "may write here; nothing on the server runs or obeys these files by default",
        "peut écrire ici ; rien sur le serveur ne lance ni n’obéit à ces fichiers par défaut",
    ),
    (
        "cron runs what is written there, as root: the recipe can run any program on a schedule",
        "cron lance ce qui y est écrit, en root : la recette peut lancer n’importe quel programme \
         selon un horaire",
    ),
    (
        "systemd starts the units written there, as root: the recipe can run any program as a \
         service",
        "systemd démarre les unités qui y sont écrites, en root : la recette peut lancer \
         n’importe quel programme comme service",
    ),
    (
        "the init system runs the scripts written there, as root: the recipe can run any program \
         at boot or when a service starts",
        "le système d’init lance les scripts qui y sont écrits, en root : la recette peut lancer \
         n’importe quel programme au démarrage ou quand un service démarre",
    ),
    (
        "init scripts read these files as shell code, as root: the recipe can run any program \
         when the service starts",
        "les scripts d’init lisent ces fichiers comme du code shell, en root : la recette peut \
         lancer n’importe quel programme quand le service démarre",
    ),
    (
        "login shells run what is written there, as whoever logs in (root too)",
        "les shells de connexion lancent ce qui y est écrit, au nom de qui se connecte (root \
         aussi)",
    ),
    (
        "run at every login, as root: the recipe can run any program",
        "lancés à chaque connexion, en root : la recette peut lancer n’importe quel programme",
    ),
    (
        "logrotate runs the scripts written there, as root: the recipe can run any program daily",
        "logrotate lance les scripts qui y sont écrits, en root : la recette peut lancer \
         n’importe quel programme chaque jour",
    ),
    (
        "udev runs the programs its rules name, as root",
        "udev lance les programmes que ses règles nomment, en root",
    ),
    (
        "decides how kernel modules load (an `install` line runs a program as root)",
        "décide comment les modules du noyau se chargent (une ligne `install` lance un programme \
         en root)",
    ),
    (
        "configures the SSH server: who may log in and which command runs for them",
        "configure le serveur SSH : qui peut se connecter et quelle commande est lancée pour eux",
    ),
    (
        "PostgreSQL obeys it: who may connect and how (a `trust` line lets anyone on the server \
         in as any database user, superuser included)",
        "PostgreSQL y obéit : qui peut se connecter et comment (une ligne `trust` laisse entrer \
         n’importe qui sur le serveur sous n’importe quel utilisateur de base, superutilisateur \
         compris)",
    ),
    (
        "MariaDB obeys it: plugins, files it reads and writes, who may connect",
        "MariaDB y obéit : greffons, fichiers qu’il lit et écrit, qui peut se connecter",
    ),
    (
        "Redis obeys it: modules it loads, where it writes, who may connect",
        "Redis y obéit : modules qu’il charge, où il écrit, qui peut se connecter",
    ),
    (
        "Docker's daemon obeys it, as root: runtimes and options that control the whole machine",
        "le démon de Docker y obéit, en root : environnements d’exécution et options qui \
         contrôlent toute la machine",
    ),
    (
        "the container daemons (dockerd, containerd) start what is stored there, as root: \
         images, and containers' settings, which can mount the whole machine",
        "les démons de conteneurs (dockerd, containerd) démarrent ce qui y est stocké, en root : \
         images, et réglages des conteneurs, qui peuvent monter toute la machine",
    ),
    (
        "Python runs `.pth` files there at every start, as whoever runs Python",
        "Python lance les fichiers `.pth` qui s’y trouvent à chaque démarrage, au nom de qui \
         lance Python",
    ),
    (
        "puts programs on every user's search path, ahead of the system's own",
        "place des programmes sur le chemin de recherche de chaque utilisateur, avant ceux du \
         système",
    ),
];

/// `english` in `lang` (`"en"` or a language the dashboard speaks), or `None` when the engine
/// has no translation of it.
pub(super) fn words(english: &'static str, lang: &str) -> Option<&'static str> {
    match lang {
        "en" => Some(english),
        "fr" => WORDS
            .iter()
            .find(|(en, _)| *en == english)
            .map(|(_, fr)| *fr),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{WORDS, words};

    #[test]
    fn every_policy_says_its_power_in_french() {
        for p in super::super::all() {
            assert!(
                words(p.power, "fr").is_some(),
                "no French for the power of {:?}: \"{}\"",
                p.names,
                p.power
            );
        }
    }

    #[test]
    fn every_path_reader_is_said_in_french() {
        for what in super::super::feeds::readers() {
            assert!(words(what, "fr").is_some(), "no French for \"{what}\"");
        }
    }

    #[test]
    fn french_keeps_the_paths_part_and_translates_nothing_twice() {
        for (i, (en, fr)) in WORDS.iter().enumerate() {
            assert_eq!(en.contains("{paths}"), fr.contains("{paths}"), "{en}");
            assert_ne!(en, fr, "{en}");
            assert!(!WORDS[..i].iter().any(|(e, _)| e == en), "twice: {en}");
        }
    }
}
