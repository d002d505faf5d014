namespace KataCgroups.Devices;

/// <summary>
/// Builds the <c>BPF_PROG_TYPE_CGROUP_DEVICE</c> program that enforces a device rule state on cgroup v2
/// (model: opencontainers/cgroups devices/devicefilter.go). The kernel calls it with a
/// <c>struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }</c> where
/// <c>access_type = access &lt;&lt; 16 | type</c> (include/uapi/linux/bpf.h); it returns 1 to allow, 0 to deny.
/// Registers: R2 = type, R3 = access, R4 = major, R5 = minor; one block per exception; default last.
/// </summary>
public static class DeviceFilterProgram
{
    // include/uapi/linux/bpf.h
    private const int DevBlock = 1, DevChar = 2;                  // BPF_DEVCG_DEV_*
    private const int AccMknod = 1, AccRead = 2, AccWrite = 4;    // BPF_DEVCG_ACC_*

    // include/uapi/linux/bpf_common.h + bpf.h opcodes
    private const byte LdxMemW = 0x61;   // BPF_LDX | BPF_MEM | BPF_W
    private const byte Alu32AndK = 0x54; // BPF_ALU | BPF_AND | BPF_K
    private const byte Alu32RshK = 0x74; // BPF_ALU | BPF_RSH | BPF_K
    private const byte Alu32MovK = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
    private const byte Alu32MovX = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
    private const byte JmpJneK = 0x55;   // BPF_JMP | BPF_JNE | BPF_K
    private const byte JmpJneX = 0x5d;   // BPF_JMP | BPF_JNE | BPF_X
    private const byte JmpJeqK = 0x15;   // BPF_JMP | BPF_JEQ | BPF_K
    private const byte Exit = 0x95;      // BPF_JMP | BPF_EXIT

    /// <summary>One eBPF instruction (struct bpf_insn).</summary>
    public readonly record struct Instruction(byte Code, byte Dst, byte Src, short Offset, int Imm)
    {
        /// <summary>The 8-byte kernel encoding: code, dst (low nibble) | src (high nibble), off, imm.</summary>
        public void WriteTo(Span<byte> dest)
        {
            dest[0] = Code;
            dest[1] = (byte)((Src << 4) | (Dst & 0xf));
            BitConverter.TryWriteBytes(dest[2..4], Offset);
            BitConverter.TryWriteBytes(dest[4..8], Imm);
        }
    }

    /// <summary>The program for a rule state.</summary>
    public static List<Instruction> Build(DeviceRuleSet state)
    {
        var prog = new List<Instruction>
        {
            new(LdxMemW, 2, 1, 0, 0),          // R2 = ctx->access_type
            new(Alu32AndK, 2, 0, 0, 0xFFFF),   // R2 &= 0xffff           (type)
            new(LdxMemW, 3, 1, 0, 0),          // R3 = ctx->access_type
            new(Alu32RshK, 3, 0, 0, 16),       // R3 >>= 16              (access)
            new(LdxMemW, 4, 1, 4, 0),          // R4 = ctx->major
            new(LdxMemW, 5, 1, 8, 0),          // R5 = ctx->minor
        };
        int verdict = state.DefaultAllow ? 0 : 1; // what an exception decides
        foreach (var rule in state.Exceptions)
        {
            var block = new List<Instruction>();
            // Each block jumps to "next" (the first instruction after it) on a mismatch; offsets are filled below.
            if (rule.Type != 'a')
                block.Add(new(JmpJneK, 2, 0, 0, rule.Type == 'b' ? DevBlock : DevChar));
            int access = Access(rule.Access);
            if (access != (AccRead | AccWrite | AccMknod))
            {
                block.Add(new(Alu32MovX, 1, 3, 0, 0));        // R1 = R3
                block.Add(new(Alu32AndK, 1, 0, 0, access));   // R1 &= rule access
                if (verdict == 1)
                    block.Add(new(JmpJneX, 1, 3, 0, 0));      // allow: every requested bit must be allowed
                else
                    block.Add(new(JmpJeqK, 1, 0, 0, 0));      // deny: any requested bit that is denied
            }
            // The immediate is 32 bits: a number above int.MaxValue (valid in the spec, up to uint.MaxValue) is
            // encoded as its bit pattern, as runc's devicefilter does with int32(rule.Major). No device has such a
            // number (a dev_t major is 12 bits, a minor 20), so the rule matches nothing, on v1 and v2 alike.
            if (rule.Major != DeviceRule.Wildcard) block.Add(new(JmpJneK, 4, 0, 0, unchecked((int)rule.Major)));
            if (rule.Minor != DeviceRule.Wildcard) block.Add(new(JmpJneK, 5, 0, 0, unchecked((int)rule.Minor)));
            block.Add(new(Alu32MovK, 0, 0, 0, verdict));
            block.Add(new(Exit, 0, 0, 0, 0));
            for (int i = 0; i < block.Count; i++)
            {
                var ins = block[i];
                if (ins.Code is JmpJneK or JmpJneX or JmpJeqK)
                    block[i] = ins with { Offset = (short)(block.Count - i - 1) };
            }
            prog.AddRange(block);
        }
        prog.Add(new(Alu32MovK, 0, 0, 0, state.DefaultAllow ? 1 : 0));
        prog.Add(new(Exit, 0, 0, 0, 0));
        return prog;
    }

    /// <summary>The program as the bytes BPF_PROG_LOAD takes.</summary>
    public static byte[] Encode(IReadOnlyList<Instruction> program)
    {
        var bytes = new byte[program.Count * 8];
        for (int i = 0; i < program.Count; i++) program[i].WriteTo(bytes.AsSpan(i * 8, 8));
        return bytes;
    }

    private static int Access(DeviceAccess a) =>
        ((a & DeviceAccess.Read) != 0 ? AccRead : 0) | ((a & DeviceAccess.Write) != 0 ? AccWrite : 0) | ((a & DeviceAccess.Mknod) != 0 ? AccMknod : 0);
}
