# users.sh: throwaway system accounts for the layout sluice(7) requires,
# the planner's user apart from the agents' account, on one machine.
# Source it (as root), then:
#   user_make NAME [login]  makes system user NAME (no home, no shell, its
#                           own group) unless it exists; with "login",
#                           unlocks it for key logins, as sshd without PAM
#                           refuses a locked account.  0 or 1, said why.
#   as_user NAME CMD...     runs CMD as NAME; as the caller when NAME is "".
#   users_remove            removes every user user_make made here.
# Accounts that existed before are used and left alone.

USERS_MADE=""

user_make() {
	if ! id -u "$1" >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin --user-group "$1" >&2 || return 1
		USERS_MADE="$USERS_MADE $1"
	fi
	# useradd leaves the password field "!", locked: "*" matches no
	# password but lets keys in.
	[ "${2:-}" != login ] || usermod -p '*' "$1" >&2 || return 1
}

as_user() {
	u=$1
	shift
	if [ -n "$u" ]; then
		runuser -u "$u" -- "$@"
	else
		"$@"
	fi
}

users_remove() {
	for u in $USERS_MADE; do
		# -f: an sshd session of the user may still be closing.
		userdel -f "$u" 2>/dev/null
		getent group "$u" >/dev/null && groupdel "$u" 2>/dev/null
	done
	USERS_MADE=""
	return 0
}
