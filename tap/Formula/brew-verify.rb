# Homebrew formula for brew-verify (a tap: `brew tap brew-verify/tap <this repository>`, then
# `brew install brew-verify`). `workflows/release.yml` fills in `url` and `sha256` for each
# release tag; the values below are for the version named in `url`.
class BrewVerify < Formula
  desc "Verify Homebrew bottles against their Sigstore attestations, offline and fast"
  homepage "https://github.com/brew-verify/brew-verify"
  url "https://github.com/brew-verify/brew-verify/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "Apache-2.0"
  head "https://github.com/brew-verify/brew-verify.git", branch: "main"

  depends_on "rust" => :build

  def install
    # The workspace builds three crates; only the verifier is installed.
    system "cargo", "install", *std_cargo_args(path: "verify")

    # `brew provenance`: an external command is any `brew-NAME` on PATH (`brew verify` is built
    # into brew and shadows an external command of that name).
    bin.install_symlink bin/"brew-verify" => "brew-provenance"

    # The drop-in `gh` brew runs for `gh attestation verify`. It lives under libexec so that
    # installing this formula changes nothing by itself: putting libexec/"gh-shim" first on
    # PATH (see caveats) is the opt-in, and removing it is the undo.
    (libexec/"gh-shim").install_symlink bin/"brew-verify" => "gh"

    generate_completions_from_executable(bin/"brew-verify", "generate-completions",
                                         shells: [:bash, :zsh, :fish])
    system bin/"brew-verify", "generate-man", "--out", buildpath/"man"
    man1.install Dir[buildpath/"man/*.1"]
  end

  def caveats
    <<~EOS
      To have brew's own attestation checks (`brew verify`, and every `brew install` when
      HOMEBREW_VERIFY_ATTESTATIONS=1 is set) use brew-verify instead of the GitHub CLI, put its
      `gh` first on your PATH, e.g. in ~/.zprofile:
        export PATH="#{opt_libexec}/gh-shim:$PATH"
      Every other `gh` command still runs the real gh. `brew-verify doctor` shows what brew
      will run. To undo, remove that line.

      `brew provenance` checks the bottles of everything installed.
    EOS
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/brew-verify --version")
    # The drop-in answers as gh and passes other commands on (there is none here to pass to).
    assert_match "verify", shell_output("#{opt_libexec}/gh-shim/gh attestation --help")
    output = shell_output("PATH=#{opt_libexec}/gh-shim #{opt_libexec}/gh-shim/gh auth token 2>&1", 1)
    assert_match "no other `gh` on PATH", output
    # Offline, against an unreadable bundle file: the bottle is refused as invalid (exit 1).
    (testpath/"x--1.0.all.bottle.tar.gz").write "not a bottle"
    (testpath/"empty.jsonl").write ""
    output = shell_output("#{bin}/brew-verify --offline --bundle #{testpath}/empty.jsonl " \
                          "#{testpath}/x--1.0.all.bottle.tar.gz 2>&1", 1)
    assert_match "invalid attestation", output
  end
end
