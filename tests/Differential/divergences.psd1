# The allowed divergences between the module and runc's libcontainer: the only results of the differential
# suite that are not failures although the two engines disagree. Each entry is explained, once, in
# divergences.md under its Id; the suite fails when an entry has no section there. Nothing enters this list
# because a run found it: a divergence is listed when the module is right to differ and the reason is written down.
#
# An entry without When is handled by how the suite is built (it never shows as a divergence). An entry with When
# allows a case whose result matches every condition given (Test-KcDiffAllowed in Differential.psm1):
#   Outcome        ModuleOnlyFails | RuncOnlyFails | FilesDiffer | DevicesDiffer
#   Mode           the host's cgroup mode: Unified | Hybrid | Legacy
#   ModuleErrorId  -like pattern on the module's error id
#   ModuleMessage  -like pattern on the module's error message
#   RuncError      -like pattern on runc's error text
#   Field, Range   the case's input has this field (dotted path into linux.resources) with a value in [min, max]
#   Files          FilesDiffer only: every differing file ('<hierarchy>/<file>') matches one of these patterns
@{
    Divergences = @(
        @{
            Id       = 'hypervisor-devices'
            Handling = 'Kata''s hypervisor device rules are given to runc too: the oracle gets the caller''s rules followed by them'
        }
        @{
            Id       = 'validate-before-write'
            Handling = 'when both fail only the outcome is compared, never what runc wrote before its error'
        }
        @{
            Id   = 'memory-limit-below-page'
            When = @{
                Outcome       = 'ModuleOnlyFails'
                ModuleErrorId = 'InvalidResourceValue'
                ModuleMessage = 'invalid memory.limit value *'
                Field         = 'memory.limit'
                Range         = @(1, 4095)
            }
        }
        @{
            Id   = 'cpu-burst'
            When = @{ Outcome = 'FilesDiffer'; Field = 'cpu.burst'; Files = @('*cpu.cfs_burst_us', '*cpu.max.burst', '*cgroup.controllers', '*/misc.*') }
        }
        @{
            Id   = 'cpu-burst'
            When = @{ Outcome = 'ModuleOnlyFails'; Field = 'cpu.burst'; ModuleErrorId = 'CgroupWriteFailed'; ModuleMessage = '*burst*' }
        }
        @{
            Id   = 'cpu-idle'
            When = @{ Outcome = 'FilesDiffer'; Field = 'cpu.idle'; Files = @('*cpu.idle', '*cpu.shares', '*cpu.weight', '*cpu.weight.nice', '*cpu.cfs_burst_us', '*cpu.max.burst', '*cgroup.controllers', '*/misc.*') }
        }
        @{
            Id   = 'cpu-idle'
            When = @{ Outcome = 'ModuleOnlyFails'; Field = 'cpu.idle'; ModuleErrorId = 'InvalidResourceValue'; ModuleMessage = 'invalid cpu.idle value *' }
        }
        @{
            Id   = 'device-access-letters'
            When = @{ Outcome = 'ModuleOnlyFails'; ModuleErrorId = 'InvalidDeviceRule'; ModuleMessage = '*may only contain r, w and m*' }
        }
        @{
            Id   = 'negative-device-number'
            When = @{ Outcome = 'ModuleOnlyFails'; ModuleErrorId = 'InvalidDeviceRule'; ModuleMessage = '*major and minor must be >= 0*' }
        }
        @{
            Id   = 'v2-misc-controller'
            When = @{ Outcome = 'FilesDiffer'; Mode = 'Unified'; Files = @('*cgroup.controllers', '*/misc.*') }
        }
        @{
            Id   = 'v2-cpu-shares-to-weight'
            When = @{ Outcome = 'FilesDiffer'; Mode = 'Unified'; Field = 'cpu.shares'; Files = @('*cpu.weight', '*cpu.weight.nice', '*cgroup.controllers', '*/misc.*', '*cpu.max.burst') }
        }
        @{
            Id   = 'v2-cpu-shares-range'
            When = @{ Outcome = 'ModuleOnlyFails'; Mode = 'Unified'; ModuleErrorId = 'InvalidResourceValue'; ModuleMessage = 'invalid cpu.shares value *' }
        }
        @{
            Id   = 'v2-negative-means-unlimited'
            When = @{ Outcome = 'RuncOnlyFails'; Mode = 'Unified'; Field = 'pids.limit'; Range = @(-9.3e18, -2) }
        }
        @{
            Id   = 'v2-negative-means-unlimited'
            When = @{ Outcome = 'RuncOnlyFails'; Mode = 'Unified'; RuncError = '*io.max*' }
        }
        @{
            Id   = 'v2-device-weight-without-bfq'
            When = @{ Outcome = 'ModuleOnlyFails'; Mode = 'Unified'; ModuleErrorId = 'BlockIoWeightUnsupported'; ModuleMessage = '*device weight needs the BFQ*' }
        }
        @{
            Id   = 'v2-realtime'
            When = @{ Outcome = 'ModuleOnlyFails'; Mode = 'Unified'; ModuleErrorId = 'UnsupportedOnHost'; ModuleMessage = 'realtime CPU limits*' }
        }
        @{
            Id   = 'validation-of-ignored-fields'
            When = @{ Outcome = 'ModuleOnlyFails'; Mode = 'Unified'; ModuleErrorId = 'InvalidResourceValue'; ModuleMessage = 'invalid *' }
        }
    )
}
