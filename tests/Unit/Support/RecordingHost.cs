using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace KataCgroups.Tests.Support;

/// <summary>
/// A PSHost whose UI records every line, so tests can read what -WhatIf printed. Prompts are refused:
/// an in-process test must never wait for input.
/// </summary>
internal sealed class RecordingHost : PSHost
{
    private readonly RecordingHostUI _ui = new();

    public List<string> Lines => _ui.Lines;
    public string Text => string.Join("\n", _ui.Lines);

    public override string Name => "KataCgroups.Tests";
    public override Version Version => new(1, 0);
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override PSHostUserInterface UI => _ui;
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
    public override void SetShouldExit(int exitCode) { }
    public override void EnterNestedPrompt() => throw new NotSupportedException();
    public override void ExitNestedPrompt() => throw new NotSupportedException();
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }

    private sealed class RecordingHostUI : PSHostUserInterface
    {
        private string _partial = "";

        public List<string> Lines { get; } = new();

        public override PSHostRawUserInterface? RawUI => null;

        public override void Write(string value) => _partial += value;
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Write(value);

        public override void WriteLine(string value)
        {
            Lines.Add(_partial + value);
            _partial = "";
        }

        public override void WriteErrorLine(string value) => Lines.Add("ERROR: " + value);
        public override void WriteDebugLine(string message) => Lines.Add("DEBUG: " + message);
        public override void WriteVerboseLine(string message) => Lines.Add("VERBOSE: " + message);
        public override void WriteWarningLine(string message) => Lines.Add("WARNING: " + message);
        public override void WriteProgress(long sourceId, ProgressRecord record) { }

        public override string ReadLine() => throw new NotSupportedException("tests never prompt");
        public override SecureString ReadLineAsSecureString() => throw new NotSupportedException("tests never prompt");
        public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) =>
            throw new NotSupportedException("tests never prompt");
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
            throw new NotSupportedException("tests never prompt");
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
            PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) =>
            throw new NotSupportedException("tests never prompt");
        public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) =>
            throw new NotSupportedException("tests never prompt");
    }
}
