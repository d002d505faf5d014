<#
The differential suite's case generator (docs/differential.md): OCI linux.resources objects over every field the
module accepts, as ordered dictionaries, serialized to JSON exactly (ConvertTo-KcDiffJson: integers beyond
int64 and uint64 stay integers, so both JSON readers see the same literal).

Case k of a run with seed s is a pure function of (s, k, the host's facts): the first cases are a fixed table of
edge cases (the same in every run), the rest come from a System.Random seeded with (s, k) alone, so one case can be
generated, and re-run, without the others (Invoke-Differential.ps1 -Seed s -Case k). Host facts enter only where
the kernel needs real numbers: the block device named by blockIO rules, the online CPUs and memory nodes, the
huge page sizes, the network interfaces and device majors no driver has registered.
#>
Set-StrictMode -Version Latest

class KcDiffRandom {
    hidden [System.Random] $R
    KcDiffRandom([int] $seed) { $this.R = [System.Random]::new($seed) }
    [bool] Chance([double] $p) { return $this.R.NextDouble() -lt $p }
    [object] Pick([object[]] $items) { return $items[$this.R.Next($items.Count)] }
    [long] Between([long] $lo, [long] $hi) { return $this.R.NextInt64($lo, $hi + 1) }
    [int] Count([int] $lo, [int] $hi) { return $this.R.Next($lo, $hi + 1) }
}

$script:I64Max = [long]::MaxValue
$script:U64Max = [ulong]::MaxValue
$script:U64Over = [System.Numerics.BigInteger]::Parse('18446744073709551616')
$script:U32Max = [long][uint32]::MaxValue
$script:MiB = 1048576L

# The categories a case can focus on; 'mixed' sets several at once. The Pester file asserts per category.
$script:Categories = @('memory', 'cpu', 'cpuset', 'pids', 'blockIO', 'hugepageLimits', 'network', 'rdma', 'unified', 'devices', 'mixed')

function Get-KcDiffCategory { $script:Categories }

function ConvertTo-KcDiffJson {
    <# Compact JSON with the dictionaries' key order and exact integers (ConvertTo-Json writes a [decimal] as 1.0). #>
    param($Value)
    if ($null -eq $Value) { return 'null' }
    if ($Value -is [bool]) { return $(if ($Value) { 'true' } else { 'false' }) }
    if ($Value -is [string]) {
        $sb = [Text.StringBuilder]::new('"')
        foreach ($ch in $Value.ToCharArray()) {
            if ($ch -eq '"' -or $ch -eq '\') { $null = $sb.Append('\').Append($ch) }
            elseif ([int] $ch -lt 0x20) { $null = $sb.Append('\u').Append(([int] $ch).ToString('x4')) }
            else { $null = $sb.Append($ch) }
        }
        return $sb.Append('"').ToString()
    }
    if ($Value -is [System.Collections.IDictionary]) {
        $parts = foreach ($k in $Value.Keys) { (ConvertTo-KcDiffJson ([string] $k)) + ':' + (ConvertTo-KcDiffJson $Value[$k]) }
        return '{' + (@($parts) -join ',') + '}'
    }
    if ($Value -is [System.Collections.IList]) {
        $parts = foreach ($v in $Value) { ConvertTo-KcDiffJson $v }
        return '[' + (@($parts) -join ',') + ']'
    }
    if ($Value -is [int] -or $Value -is [long] -or $Value -is [ulong] -or $Value -is [uint32] -or $Value -is [System.Numerics.BigInteger]) {
        return $Value.ToString([cultureinfo]::InvariantCulture)
    }
    throw "ConvertTo-KcDiffJson: cannot write a $($Value.GetType().FullName)"
}

# --- device rules -----------------------------------------------------------------------------------------------

function New-KcDiffRule {
    <# An OCI LinuxDeviceCgroup; a parameter left $null is left out of the object (absent in the JSON). #>
    param([bool] $Allow, $Type, $Major, $Minor, $Access, [switch] $NoAccess)
    $d = [ordered]@{ allow = $Allow }
    if ($null -ne $Type) { $d.type = $Type }
    if ($null -ne $Major) { $d.major = $Major }
    if ($null -ne $Minor) { $d.minor = $Minor }
    if (-not $NoAccess) { $d.access = $Access }
    $d
}

function Get-KcDiffDeviceNumber {
    <# A (major, minor) for a rule of this type: mostly numbers the device probe can try safely (see Get-KcDiffProbeNode). #>
    param([KcDiffRandom] $R, $Facts, [string] $Type)
    $char = @(
        @(1, $R.Pick(@(3, 5, 7, 8, 9))), @(5, $R.Pick(@(0, 2))), @(136, $R.Count(0, 9)), @(10, 200),
        @($R.Pick($Facts.FreeChar), $R.Count(0, 5)), @($R.Pick($Facts.FreeChar), $R.Count(0, 5))
    )
    $block = @(
        @(253, $R.Count(0, 9)), @($Facts.BlockDevice.Major, $Facts.BlockDevice.Minor),
        @($R.Pick($Facts.FreeBlock), $R.Count(0, 5)), @($R.Pick($Facts.FreeBlock), $R.Count(0, 5))
    )
    if ($R.Chance(0.06)) { return , @($R.Pick(@($script:U32Max, 4095, 0)), $R.Pick(@($script:U32Max, 1048575, 0))) }
    $list = switch ($Type) { 'c' { $char } 'b' { $block } default { $char + $block } }
    , $R.Pick($list)
}

function New-KcDiffRandomRule {
    param([KcDiffRandom] $R, $Facts)
    $type = if ($R.Chance(0.02)) { 'p' } else { $R.Pick(@('c', 'c', 'c', 'b', 'b', 'a', $null, '')) }
    $num = Get-KcDiffDeviceNumber $R $Facts $type
    $major = $R.Pick(@($num[0], $num[0], $num[0], -1, $null))
    $minor = $R.Pick(@($num[1], $num[1], -1, $null))
    $noAccess = $R.Chance(0.02)
    $access = if ($R.Chance(0.04)) { $R.Pick(@('x', 'rr', 'R', 'rwmr', '')) } else { $R.Pick(@('rwm', 'rwm', 'r', 'w', 'm', 'rw', 'rm', 'wm', 'mrw')) }
    New-KcDiffRule -Allow ($R.Chance(0.6)) -Type $type -Major $major -Minor $minor -Access $access -NoAccess:$noAccess
}

function New-KcDiffDeviceList {
    <# Random rule lists, and the shapes that matter to the kernel's and runc's device semantics. #>
    param([KcDiffRandom] $R, $Facts)
    $f = $R.Pick($Facts.FreeChar)
    $fb = $R.Pick($Facts.FreeBlock)
    $acc = $R.Pick(@('rwm', 'r', 'rw', 'm'))
    if ($R.Chance(0.35)) {
        $shape = $R.Count(0, 8)
        $rules = @(switch ($shape) {
            # allow-all, a wildcard deny, then specific allows (runc: cannot punch hole in a wildcard rule)
            0 { (New-KcDiffRule $true 'a' $null $null 'rwm'), (New-KcDiffRule $false 'c' $f $null $acc), (New-KcDiffRule $true 'c' $f $R.Count(0, 3) $acc) }
            # deny-all first, then allows (how Docker and Kubernetes write it)
            1 { (New-KcDiffRule $false 'a' $null $null 'rwm'), (New-KcDiffRule $true 'c' $f $R.Count(0, 3) $acc), (New-KcDiffRule $true 'b' $fb $null 'rwm') }
            # a wildcard allow, then a specific deny inside it
            2 { (New-KcDiffRule $true 'c' $f $null 'rwm'), (New-KcDiffRule $false 'c' $f $R.Count(0, 3) $acc) }
            # allow-all with deny exceptions (a blacklist: devices.list shows only 'a *:* rwm')
            3 { (New-KcDiffRule $true $null $null $null 'rwm'), (New-KcDiffRule $false 'c' $f $R.Count(0, 3) $acc), (New-KcDiffRule $false 'b' $fb $null 'rw') }
            # a deny of a default or hypervisor device, which the later allows open again
            4 { New-KcDiffRule $false $R.Pick(@('c', 'b')) $R.Pick(@(1, 253, 136, 10)) $R.Pick(@(3, -1, 200, $null)) $acc }
            # the same device allowed in parts, then partly denied again
            5 { (New-KcDiffRule $true 'b' $fb 1 'r'), (New-KcDiffRule $true 'b' $fb 1 'w'), (New-KcDiffRule $false 'b' $fb 1 $R.Pick(@('r', 'm', 'rw'))) }
            # allow-all, then deny-all again
            6 { (New-KcDiffRule $true 'a' $null $null 'rwm'), (New-KcDiffRule $false 'a' $null $null $acc), (New-KcDiffRule $true 'c' $f 1 $acc) }
            # the real block device, one access at a time
            7 { New-KcDiffRule $true 'b' $Facts.BlockDevice.Major $Facts.BlockDevice.Minor $acc }
            # no rules at all
            8 { }
        })
        return , $rules
    }
    , @(for ($i = $R.Count(1, 5); $i -gt 0; $i--) { New-KcDiffRandomRule $R $Facts })
}

# --- the other fields ------------------------------------------------------------------------------------------

function New-KcDiffMemoryValue {
    param([KcDiffRandom] $R)
    if ($R.Chance(0.15)) { return $R.Pick(@(0, -1, 1, 4095, 4096, 4097, $script:I64Max, -2, 268435456)) }
    if ($R.Chance(0.7)) { return $R.Between(1, 1048576) * 4096 }
    $R.Between(4096, 4GB)
}

function New-KcDiffMemory {
    param([KcDiffRandom] $R)
    $m = [ordered]@{}
    if ($R.Chance(0.7)) { $m.limit = New-KcDiffMemoryValue $R }
    if ($R.Chance(0.3)) { $m.reservation = New-KcDiffMemoryValue $R }
    if ($R.Chance(0.35)) {
        $m.swap = if ($m.Contains('limit') -and $m.limit -gt 0 -and $m.limit -lt 1TB -and $R.Chance(0.7)) {
            $R.Pick(@($m.limit, ($m.limit - 1), ($m.limit + 4096), (2 * $m.limit), -1, 0))
        }
        else { New-KcDiffMemoryValue $R }
    }
    if ($R.Chance(0.25)) { $m.swappiness = if ($R.Chance(0.2)) { $R.Pick(@(0, 100, 101, $script:U64Max)) } else { $R.Between(0, 100) } }
    if ($R.Chance(0.2)) { $m.disableOOMKiller = $R.Chance(0.5) }
    if ($R.Chance(0.05)) { $m.kernel = 64 * $script:MiB }
    if ($R.Chance(0.05)) { $m.kernelTCP = 16 * $script:MiB }
    if ($m.Count -eq 0) { $m.limit = New-KcDiffMemoryValue $R }
    $m
}

function New-KcDiffCpu {
    param([KcDiffRandom] $R)
    $c = [ordered]@{}
    if ($R.Chance(0.5)) { $c.shares = if ($R.Chance(0.15)) { $R.Pick(@(0, 1, 2, 1024, 262144, 262145, $script:U64Max)) } else { $R.Between(2, 262144) } }
    if ($R.Chance(0.5)) { $c.quota = if ($R.Chance(0.15)) { $R.Pick(@(0, -1, 1, 999, 1000, $script:I64Max, -2)) } else { $R.Between(1000, 2000000) } }
    if ($R.Chance(0.5)) { $c.period = if ($R.Chance(0.15)) { $R.Pick(@(0, 999, 1000, 1000000, 1000001)) } else { $R.Between(1000, 1000000) } }
    if ($R.Chance(0.12)) { $c.burst = $R.Pick(@(0, 1000, $R.Between(0, 1000000))) }
    if ($R.Chance(0.15)) { $c.realtimeRuntime = $R.Pick(@(0, -1, 1000, 950000, 1000001, -2, $R.Between(0, 1000000))) }
    if ($R.Chance(0.15)) { $c.realtimePeriod = $R.Pick(@(0, 1, 1000000, $R.Between(1, 2000000))) }
    if ($R.Chance(0.1)) { $c.idle = $R.Pick(@(0, 1, 2, -1)) }
    if ($c.Count -eq 0) { $c.shares = $R.Between(2, 262144) }
    $c
}

function New-KcDiffList {
    <# A cpuset list over the online numbers, or one of the spellings the kernel and the engines may read differently. #>
    param([KcDiffRandom] $R, [int[]] $Online, [int] $Absent)
    $first = $Online[0]; $last = $Online[-1]
    if ($R.Chance(0.25)) {
        return $R.Pick(@("$first", "$last", "$first-$last", " $first", "$first ", "$first,$last", "$last-$first", '', 'a',
                "$first-", "$Absent", "$first-$Absent", "$first,,$last", "$first-$first", "$first`n"))
    }
    $pick = @($Online | Where-Object { $R.Chance(0.6) })
    if (-not $pick) { $pick = @($first) }
    $pick -join ','
}

function New-KcDiffCpuset {
    param([KcDiffRandom] $R, $Facts)
    $c = [ordered]@{}
    if ($R.Chance(0.75)) { $c.cpus = New-KcDiffList $R $Facts.Cpus $Facts.AbsentCpu }
    if ($R.Chance(0.5) -or $c.Count -eq 0) { $c.mems = New-KcDiffList $R $Facts.Mems $Facts.AbsentMem }
    $c
}

function New-KcDiffDeviceEntry {
    <# The real block device mostly; sometimes a number no disk has. #>
    param([KcDiffRandom] $R, $Facts)
    if ($R.Chance(0.8)) { return [ordered]@{ major = $Facts.BlockDevice.Major; minor = $Facts.BlockDevice.Minor } }
    $n = $R.Pick(@(@(4095, 1048575), @(0, 0), @($R.Pick($Facts.FreeBlock), 0)))
    [ordered]@{ major = $n[0]; minor = $n[1] }
}

function New-KcDiffBlockIo {
    param([KcDiffRandom] $R, $Facts)
    $b = [ordered]@{}
    $weight = { if ($R.Chance(0.2)) { $R.Pick(@(0, 9, 10, 500, 1000, 1001, 65535)) } else { $R.Between(10, 1000) } }
    if ($R.Chance(0.35)) { $b.weight = & $weight }
    if ($R.Chance(0.2)) { $b.leafWeight = & $weight }
    if ($R.Chance(0.3)) {
        $b.weightDevice = @(for ($i = $R.Count(1, 2); $i -gt 0; $i--) {
                $e = New-KcDiffDeviceEntry $R $Facts
                if ($R.Chance(0.7)) { $e.weight = & $weight }
                if ($R.Chance(0.35)) { $e.leafWeight = & $weight }
                $e
            })
    }
    foreach ($field in 'throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice') {
        if ($R.Chance(0.3)) {
            $b[$field] = @(for ($i = $R.Count(1, 2); $i -gt 0; $i--) {
                    $e = New-KcDiffDeviceEntry $R $Facts
                    $e.rate = if ($R.Chance(0.15)) { $R.Pick(@(0, 1, $script:U64Max)) } else { $R.Between(1, 1000000000) }
                    $e
                })
        }
    }
    if ($b.Count -eq 0) { $b.throttleReadBpsDevice = @([ordered]@{ major = $Facts.BlockDevice.Major; minor = $Facts.BlockDevice.Minor; rate = $R.Between(1, 1000000000) }) }
    $b
}

function New-KcDiffHugepages {
    param([KcDiffRandom] $R, $Facts)
    , @(for ($i = $R.Count(1, 2); $i -gt 0; $i--) {
            $size = if ($R.Chance(0.8)) { $R.Pick($Facts.HugePageSizes) } else { $R.Pick(@('3MB', '2mb', '', '64KB')) }
            [ordered]@{ pageSize = $size; limit = $R.Pick(@(0, 1, (2 * $script:MiB), $script:U64Max, ($R.Between(1, 512) * 2 * $script:MiB))) }
        })
}

function New-KcDiffNetwork {
    param([KcDiffRandom] $R, $Facts)
    $n = [ordered]@{}
    if ($R.Chance(0.6)) { $n.classID = if ($R.Chance(0.4)) { $R.Pick(@(0, 1, 0x100001, $script:U32Max)) } else { $R.Between(1, $script:U32Max) } }
    if ($R.Chance(0.6) -or $n.Count -eq 0) {
        $n.priorities = @(for ($i = $R.Count(1, 2); $i -gt 0; $i--) {
                [ordered]@{ name = $(if ($R.Chance(0.8)) { $R.Pick($Facts.Interfaces) } else { $R.Pick(@('nosuch0', 'bad name', '')) }); priority = $R.Pick(@(0, 1, $script:U32Max, $R.Between(0, 100))) }
            })
    }
    $n
}

function New-KcDiffRdma {
    param([KcDiffRandom] $R)
    $limits = [ordered]@{}
    if ($R.Chance(0.7)) { $limits.hcaHandles = $R.Pick(@(0, 1, $script:U32Max, $R.Between(1, 1000))) }
    if ($R.Chance(0.7)) { $limits.hcaObjects = $R.Pick(@(0, 1, $script:U32Max, $R.Between(1, 1000))) }
    [ordered]@{ $(if ($R.Chance(0.9)) { $R.Pick(@('mlx5_0', 'hfi1_0')) } else { '' }) = $limits }
}

function New-KcDiffUnified {
    param([KcDiffRandom] $R)
    $R.Pick(@(
            [ordered]@{ 'memory.high' = 'max' }, [ordered]@{ 'memory.high' = "$($R.Between(1, 1024) * $script:MiB)" },
            [ordered]@{ 'pids.max' = "$($R.Between(1, 100))" }, [ordered]@{ 'cpu.weight' = "$($R.Between(1, 10000))" },
            [ordered]@{ 'memory.oom.group' = '1' }, [ordered]@{ 'nosuch.file' = '1' }, [ordered]@{ 'memory/../x' = '1' }
        ))
}

function Add-KcDiffCategory {
    <# Adds one category's fields to $Res (the cpu-side categories share the 'cpu' object). #>
    param([KcDiffRandom] $R, $Facts, [System.Collections.Specialized.OrderedDictionary] $Res, [string] $Category)
    switch ($Category) {
        'memory' { $Res.memory = New-KcDiffMemory $R }
        'cpu' { if (-not $Res.Contains('cpu')) { $Res.cpu = [ordered]@{} }; foreach ($e in (New-KcDiffCpu $R).GetEnumerator()) { $Res.cpu[$e.Key] = $e.Value } }
        'cpuset' { if (-not $Res.Contains('cpu')) { $Res.cpu = [ordered]@{} }; foreach ($e in (New-KcDiffCpuset $R $Facts).GetEnumerator()) { $Res.cpu[$e.Key] = $e.Value } }
        'pids' { $Res.pids = [ordered]@{ limit = $(if ($R.Chance(0.2)) { $R.Pick(@(0, 1, -1, -2, $script:I64Max)) } else { $R.Between(1, 100000) }) } }
        'blockIO' { $Res.blockIO = New-KcDiffBlockIo $R $Facts }
        'hugepageLimits' { $Res.hugepageLimits = New-KcDiffHugepages $R $Facts }
        'network' { $Res.network = New-KcDiffNetwork $R $Facts }
        'rdma' { $Res.rdma = New-KcDiffRdma $R }
        'unified' { $Res.unified = New-KcDiffUnified $R }
        'devices' { $Res.devices = New-KcDiffDeviceList $R $Facts }
    }
}

# --- the fixed edge cases --------------------------------------------------------------------------------------

function Get-KcDiffEdgeCase {
    <#
    The edge cases every run starts with, in a fixed order: @{ Category; Note; Resources }. Each names what it
    exercises; numbers that must be real (block device, CPUs, free majors) come from the host's facts.
    #>
    param($Facts)
    $dev = $Facts.BlockDevice
    $f = $Facts.FreeChar[0]; $fb = $Facts.FreeBlock[0]
    $first = $Facts.Cpus[0]; $last = $Facts.Cpus[-1]
    $hp = if ($Facts.HugePageSizes) { $Facts.HugePageSizes[0] } else { '2MB' }
    $L = 256 * $script:MiB
    $e = [System.Collections.Generic.List[object]]::new()
    # (not E and R: 'r' is PowerShell's alias of Invoke-History, and an alias wins over a function)
    function Edge([string] $Category, [string] $Note, [System.Collections.IDictionary] $Resources) {
        $e.Add(@{ Category = $Category; Note = $Note; Resources = $Resources })
    }
    function Rule { param([bool] $Allow, $Type, $Major, $Minor, $Access, [switch] $NoAccess) New-KcDiffRule @PSBoundParameters }

    foreach ($v in 0, -1, 1, 4095, 4096, 4097, $script:I64Max, -2, $null) { Edge memory "memory.limit $v" ([ordered]@{ memory = [ordered]@{ limit = $v } }) }
    foreach ($v in 1, 4095, -1, $script:I64Max) { Edge memory "memory.reservation $v" ([ordered]@{ memory = [ordered]@{ reservation = $v } }) }
    foreach ($s in @($L, ($L - 1), ($L - 4096), (2 * $L), -1, 0)) { Edge memory "memory.swap $s with limit $L" ([ordered]@{ memory = [ordered]@{ limit = $L; swap = $s } }) }
    Edge memory 'memory.swap without a limit' ([ordered]@{ memory = [ordered]@{ swap = 2 * $L } })
    Edge memory 'memory.swap -1 without a limit' ([ordered]@{ memory = [ordered]@{ swap = -1 } })
    Edge memory 'memory.limit and swap unlimited' ([ordered]@{ memory = [ordered]@{ limit = -1; swap = -1 } })
    foreach ($v in 0, 100, 101, $script:U64Max, $script:U64Over) { Edge memory "memory.swappiness $v" ([ordered]@{ memory = [ordered]@{ swappiness = $v } }) }
    foreach ($v in $true, $false) { Edge memory "memory.disableOOMKiller $v" ([ordered]@{ memory = [ordered]@{ disableOOMKiller = $v } }) }
    Edge memory 'memory.kernel and kernelTCP (deprecated)' ([ordered]@{ memory = [ordered]@{ limit = $L; kernel = 64 * $script:MiB; kernelTCP = 16 * $script:MiB } })

    foreach ($v in 0, 1, 2, 1024, 262144, 262145, $script:U64Max) { Edge cpu "cpu.shares $v" ([ordered]@{ cpu = [ordered]@{ shares = $v } }) }
    Edge cpu 'cpu.shares -1 (not an unsigned number)' ([ordered]@{ cpu = [ordered]@{ shares = -1 } })
    Edge cpu 'cpu.quota without a period' ([ordered]@{ cpu = [ordered]@{ quota = 50000 } })
    Edge cpu 'cpu.period without a quota' ([ordered]@{ cpu = [ordered]@{ period = 50000 } })
    foreach ($v in -1, 1, 999, 1000, $script:I64Max, -2) { Edge cpu "cpu.quota $v with period 100000" ([ordered]@{ cpu = [ordered]@{ quota = $v; period = 100000 } }) }
    foreach ($v in 999, 1000, 1000000, 1000001) { Edge cpu "cpu.period $v with quota 50000" ([ordered]@{ cpu = [ordered]@{ quota = 50000; period = $v } }) }
    Edge cpu 'cpu.quota above its period (more than one CPU)' ([ordered]@{ cpu = [ordered]@{ quota = 200000; period = 10000 } })
    Edge cpu 'cpu.burst with quota and period' ([ordered]@{ cpu = [ordered]@{ quota = 50000; period = 100000; burst = 10000 } })
    Edge cpu 'cpu.burst 0' ([ordered]@{ cpu = [ordered]@{ burst = 0 } })
    foreach ($v in -1, 1000, 950000, 1000001, -2) { Edge cpu "cpu.realtimeRuntime $v" ([ordered]@{ cpu = [ordered]@{ realtimeRuntime = $v } }) }
    foreach ($v in 1, 1000000) { Edge cpu "cpu.realtimePeriod $v" ([ordered]@{ cpu = [ordered]@{ realtimePeriod = $v } }) }
    Edge cpu 'cpu.realtimeRuntime with realtimePeriod' ([ordered]@{ cpu = [ordered]@{ realtimeRuntime = 1000; realtimePeriod = 1000000 } })
    foreach ($v in 0, 1, 2, -1) { Edge cpu "cpu.idle $v" ([ordered]@{ cpu = [ordered]@{ idle = $v } }) }

    foreach ($v in "$first", "$last", "$first-$last", " $first", "$first ", "$first,$last", "$last-$first", '', 'a', "$first-", "$($Facts.AbsentCpu)", "$first,,$last") {
        Edge cpuset "cpu.cpus '$v'" ([ordered]@{ cpu = [ordered]@{ cpus = $v } })
    }
    foreach ($v in "$($Facts.Mems[0])", " $($Facts.Mems[0])", "$($Facts.AbsentMem)", '') { Edge cpuset "cpu.mems '$v'" ([ordered]@{ cpu = [ordered]@{ mems = $v } }) }

    foreach ($v in 0, 1, -1, -2, $script:I64Max) { Edge pids "pids.limit $v" ([ordered]@{ pids = [ordered]@{ limit = $v } }) }

    foreach ($v in 9, 10, 1000, 1001) { Edge blockIO "blockIO.weight $v" ([ordered]@{ blockIO = [ordered]@{ weight = $v } }) }
    Edge blockIO 'blockIO.weight 65536 (beyond uint16)' ([ordered]@{ blockIO = [ordered]@{ weight = 65536 } })
    foreach ($v in 10, 1001) { Edge blockIO "blockIO.leafWeight $v" ([ordered]@{ blockIO = [ordered]@{ leafWeight = $v } }) }
    $d = [ordered]@{ major = $dev.Major; minor = $dev.Minor }
    Edge blockIO 'weightDevice weight' ([ordered]@{ blockIO = [ordered]@{ weightDevice = @([ordered]@{ major = $dev.Major; minor = $dev.Minor; weight = 500 }) } })
    Edge blockIO 'weightDevice leafWeight' ([ordered]@{ blockIO = [ordered]@{ weightDevice = @([ordered]@{ major = $dev.Major; minor = $dev.Minor; leafWeight = 500 }) } })
    Edge blockIO 'weightDevice with neither weight' ([ordered]@{ blockIO = [ordered]@{ weightDevice = @($d) } })
    foreach ($field in 'throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice') {
        foreach ($rate in 1048576, 0, $script:U64Max) {
            Edge blockIO "$field rate $rate" ([ordered]@{ blockIO = [ordered]@{ $field = @([ordered]@{ major = $dev.Major; minor = $dev.Minor; rate = $rate }) } })
        }
    }
    Edge blockIO 'throttle on a device no disk has' ([ordered]@{ blockIO = [ordered]@{ throttleReadBpsDevice = @([ordered]@{ major = 4095; minor = 1048575; rate = 1048576 }) } })
    Edge blockIO 'two throttles for one device (the last wins)' ([ordered]@{ blockIO = [ordered]@{ throttleWriteBpsDevice = @(
                    [ordered]@{ major = $dev.Major; minor = $dev.Minor; rate = 1048576 }, [ordered]@{ major = $dev.Major; minor = $dev.Minor; rate = 2097152 }) } })
    Edge blockIO 'all four throttles for one device' ([ordered]@{ blockIO = [ordered]@{
                throttleReadBpsDevice = @([ordered]@{ major = $dev.Major; minor = $dev.Minor; rate = 1048576 })
                throttleWriteBpsDevice = @([ordered]@{ major = $dev.Major; minor = $dev.Minor; rate = 2097152 })
                throttleReadIOPSDevice = @([ordered]@{ major = $dev.Major; minor = $dev.Minor; rate = 100 })
                throttleWriteIOPSDevice = @([ordered]@{ major = $dev.Major; minor = $dev.Minor; rate = 200 })
            }
        })

    foreach ($v in (2 * $script:MiB), 0, $script:U64Max) { Edge hugepageLimits "hugepageLimits $hp $v" ([ordered]@{ hugepageLimits = @([ordered]@{ pageSize = $hp; limit = $v }) }) }
    foreach ($size in '3MB', '2mb', '') { Edge hugepageLimits "hugepageLimits pageSize '$size'" ([ordered]@{ hugepageLimits = @([ordered]@{ pageSize = $size; limit = 2 * $script:MiB }) }) }

    foreach ($v in 0, 1048577, $script:U32Max) { Edge network "network.classID $v" ([ordered]@{ network = [ordered]@{ classID = $v } }) }
    foreach ($name in 'lo', 'nosuch0', 'bad name') { Edge network "network.priorities '$name'" ([ordered]@{ network = [ordered]@{ priorities = @([ordered]@{ name = $name; priority = 5 }) } }) }

    Edge rdma 'rdma hcaHandles and hcaObjects' ([ordered]@{ rdma = [ordered]@{ mlx5_0 = [ordered]@{ hcaHandles = 10; hcaObjects = 100 } } })
    Edge rdma 'rdma with neither limit' ([ordered]@{ rdma = [ordered]@{ mlx5_0 = [ordered]@{} } })

    Edge unified 'unified memory.high' ([ordered]@{ unified = [ordered]@{ 'memory.high' = '1073741824' } })
    Edge unified 'unified key with a slash' ([ordered]@{ unified = [ordered]@{ 'memory/../x' = '1' } })

    Edge devices 'access empty' ([ordered]@{ devices = @(Rule $true 'c' $f 1 '') })
    Edge devices 'access absent' ([ordered]@{ devices = @(Rule $true 'c' $f 1 -NoAccess) })
    Edge devices 'allow all (type absent)' ([ordered]@{ devices = @(Rule $true $null $null $null 'rwm') })
    Edge devices "allow a, deny c ${f}:* (wildcard), allow c ${f}:1 (punch a hole)" ([ordered]@{ devices = @((Rule $true 'a' $null $null 'rwm'), (Rule $false 'c' $f $null 'rwm'), (Rule $true 'c' $f 1 'r')) })
    Edge devices 'allow a, deny one device (allow-all with an exception)' ([ordered]@{ devices = @((Rule $true 'a' $null $null 'rwm'), (Rule $false 'c' $f 1 'rwm')) })
    Edge devices 'deny all first, then allows' ([ordered]@{ devices = @((Rule $false 'a' $null $null 'rwm'), (Rule $true 'c' $f 1 'rwm'), (Rule $true 'b' $fb $null 'r')) })
    Edge devices "allow c ${f}:* then deny c ${f}:3 r (a hole in an allowed wildcard)" ([ordered]@{ devices = @((Rule $true 'c' $f $null 'rwm'), (Rule $false 'c' $f 3 'r')) })
    Edge devices 'deny a default device (c 1:3)' ([ordered]@{ devices = @(Rule $false 'c' 1 3 'rwm') })
    Edge devices 'deny the hypervisor rule b 253:*' ([ordered]@{ devices = @(Rule $false 'b' 253 $null 'rwm') })
    Edge devices "type a with numbers (a ${f}:1 r)" ([ordered]@{ devices = @(Rule $true 'a' $f 1 'r') })
    Edge devices 'wildcards as -1' ([ordered]@{ devices = @(Rule $true 'c' -1 -1 'r') })
    Edge devices 'one device allowed in two parts' ([ordered]@{ devices = @((Rule $true 'b' $fb -1 'rw'), (Rule $true 'b' $fb -1 'm')) })
    foreach ($a in 'r', 'w', 'm', 'rw', 'rm', 'wm', 'mrw', 'rr', 'x', 'R') { Edge devices "access '$a'" ([ordered]@{ devices = @(Rule $true 'c' $f 1 $a) }) }
    foreach ($t in 'p', '', 'u') { Edge devices "type '$t'" ([ordered]@{ devices = @(Rule $true $t $f 1 'rwm') }) }
    foreach ($m in -2, $script:U32Max, ($script:U32Max + 1)) { Edge devices "major $m" ([ordered]@{ devices = @(Rule $true 'c' $m 1 'rwm') }) }
    Edge devices 'minor absent' ([ordered]@{ devices = @(Rule $true 'c' $f $null 'rwm') })
    Edge devices 'major absent' ([ordered]@{ devices = @(Rule $true 'c' $null 1 'rwm') })
    Edge devices 'deny of a device nothing allows' ([ordered]@{ devices = @(Rule $false 'c' $f 1 'rwm') })
    Edge devices 'allow a, then deny a' ([ordered]@{ devices = @((Rule $true $null $null $null 'rwm'), (Rule $false $null $null $null 'rwm')) })
    Edge devices 'the real block device, read only' ([ordered]@{ devices = @(Rule $true 'b' $dev.Major $dev.Minor 'r') })
    Edge devices 'an empty rule list' ([ordered]@{ devices = @() })
    Edge devices 'allow then deny the same access' ([ordered]@{ devices = @((Rule $true 'c' $f 1 'w'), (Rule $false 'c' $f 1 'w')) })

    Edge mixed 'nothing set' ([ordered]@{})
    Edge mixed 'a typical sandbox' ([ordered]@{
            memory = [ordered]@{ limit = $L; reservation = 128 * $script:MiB; swap = 2 * $L }
            cpu    = [ordered]@{ shares = 512; quota = 50000; period = 100000; cpus = "$first-$last"; mems = "$($Facts.Mems[0])" }
            pids   = [ordered]@{ limit = 128 }
            devices = @((Rule $false 'a' $null $null 'rwm'), (Rule $true 'c' 1 3 'rwm'))
        })
    , $e.ToArray()
}

function New-KcDiffCase {
    <#
    Case $Index of the run with $Seed: [pscustomobject]@{ Index; Id; Category; Note; Resources }. Indexes below the
    edge-case table's length are its entries (seed-independent); the rest are random, from (Seed, Index) alone.
    #>
    param([Parameter(Mandatory)] [int] $Seed, [Parameter(Mandatory)] [int] $Index, [Parameter(Mandatory)] $Facts, $EdgeCases)
    if (-not $EdgeCases) { $EdgeCases = Get-KcDiffEdgeCase $Facts }
    if ($Index -lt $EdgeCases.Count) {
        $edge = $EdgeCases[$Index]
        return [pscustomobject]@{ Index = $Index; Id = "c$Index"; Category = $edge.Category; Note = "edge: $($edge.Note)"; Resources = $edge.Resources }
    }
    $R = [KcDiffRandom]::new([int](([long] $Seed * 1000003L + [long] $Index * 7919L) % [int]::MaxValue))
    $single = @($script:Categories | Where-Object { $_ -ne 'mixed' })
    $category = if ($R.Chance(0.25)) { 'mixed' } else { $R.Pick($single) }
    $res = [ordered]@{}
    if ($category -eq 'mixed') {
        # Mostly the categories that interact (memory and swap, quota and period, cpuset, devices): a case that fails for
        # one reason hides what the others would show, so the rest join only now and then.
        foreach ($c in $single) {
            $p = if ($c -in 'memory', 'cpu', 'cpuset', 'pids', 'blockIO', 'devices') { 0.5 } elseif ($c -eq 'unified') { 0 } else { 0.1 }
            if ($R.Chance($p)) { Add-KcDiffCategory $R $Facts $res $c }
        }
        if ($res.Count -lt 2) { Add-KcDiffCategory $R $Facts $res 'memory'; Add-KcDiffCategory $R $Facts $res 'devices' }
    }
    else { Add-KcDiffCategory $R $Facts $res $category }
    [pscustomobject]@{ Index = $Index; Id = "c$Index"; Category = $category; Note = 'random'; Resources = $res }
}

Export-ModuleMember -Function Get-KcDiffCategory, ConvertTo-KcDiffJson, Get-KcDiffEdgeCase, New-KcDiffCase
