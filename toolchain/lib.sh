# Shared by build.sh and env.sh (sourced, not executed): locates the toolchain cache directory.
# The key is a short hash of versions.env and every wrapper module file, so a change to a
# pinned version or a wrapper builds into a new directory and never mixes binaries.
TOOLCHAIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$TOOLCHAIN_DIR/versions.env"

toolchain_key() {
	(
		cd "$TOOLCHAIN_DIR" &&
			find versions.env go -type f \( -name 'go.mod' -o -name 'go.sum' -o -name '*.go' -o -name 'versions.env' \) -print |
			LC_ALL=C sort | while read -r f; do
				printf '%s\n' "$f"
				cat "$f"
			done
	) | sha256sum | cut -c1-12
}

TOOLCHAIN_CACHE_ROOT="${ZENML_PLATFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zenml-platform}/toolchain"
TOOLCHAIN_KEY=$(toolchain_key)
TOOLCHAIN_HOME="$TOOLCHAIN_CACHE_ROOT/$TOOLCHAIN_KEY"
TOOLCHAIN_BIN="$TOOLCHAIN_HOME/bin"
TOOLCHAIN_PULUMI_HOME="$TOOLCHAIN_HOME/pulumi-home"
