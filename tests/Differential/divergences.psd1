# The allowed divergences between the module and runc's libcontainer: the only results of the differential
# suite that are not failures although the two engines disagree. Each entry is explained, once, in
# divergences.md under its Id; the suite fails when an entry has no section there. Nothing enters this list
# because a run found it: a divergence is listed when the module is right to differ and the reason is written down.
#
# An entry without When is handled by how the suite is built (it never shows as a divergence). An entry with When
# allows a case whose result matches every condition given (Test-KcDiffAllowed in Differential.psm1):
#   Outcome        ModuleOnlyFails | RuncOnlyFails | FilesDiffer | DevicesDiffer | PropertiesDiffer (a case where both
#                  succeed is allowed only when each kind of difference it has is allowed by some entry)
#   Driver         Systemd: an entry of the systemd run alone (its Id starts with systemd-); without it an entry
#                  applies to both runs, the cgroupfs one and the systemd one
#   Mode           the host's cgroup mode: Unified | Hybrid | Legacy
#   ModuleErrorId  -like pattern on the module's error id
#   ModuleMessage  -like pattern on the module's error message
#   RuncError      -like pattern on runc's error text
#   Field, Range   the case's input has this field (dotted path into linux.resources) with a value in [min, max]
#   Files          FilesDiffer only: every differing file ('<hierarchy>/<file>') matches one of these patterns
#   Nodes          DevicesDiffer only: every device whose access differs ('c 1:3') matches one of these patterns
#   Properties     PropertiesDiffer only: every differing unit property matches one of these patterns
#   ModuleExtraLines  with Properties: the module's value holds every line of runc's, and its other lines match this
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
        @{
            Id   = 'systemd-unmounted-controller'
            When = @{ Driver = 'Systemd'; Outcome = 'ModuleOnlyFails'; ModuleErrorId = 'ControllerNotMounted' }
        }
        @{
            Id   = 'systemd-unmounted-controller'
            When = @{ Driver = 'Systemd'; Outcome = 'ModuleOnlyFails'; ModuleErrorId = 'InvalidResourceValue'; Field = 'rdma'; ModuleMessage = 'invalid rdma *' }
        }
        @{
            Id   = 'systemd-unmounted-controller'
            When = @{ Driver = 'Systemd'; Outcome = 'ModuleOnlyFails'; ModuleErrorId = 'InvalidResourceValue'; Field = 'network'; ModuleMessage = 'invalid network.*' }
        }
        @{
            Id   = 'systemd-unmounted-controller'
            When = @{ Driver = 'Systemd'; Outcome = 'ModuleOnlyFails'; ModuleErrorId = 'InvalidResourceValue'; Field = 'hugepageLimits'; ModuleMessage = 'invalid hugepageLimits*' }
        }
        @{
            Id   = 'systemd-tasksmax-below-minus-one'
            When = @{ Driver = 'Systemd'; Outcome = 'PropertiesDiffer'; Field = 'pids.limit'; Range = @(-9.3e18, -2); Properties = @('TasksMax') }
        }
        @{
            Id   = 'systemd-deviceallow-without-node'
            When = @{ Driver = 'Systemd'; Outcome = 'PropertiesDiffer'; Properties = @('DeviceAllow'); ModuleExtraLines = '/dev/*/*:* *' }
        }
        @{
            Id   = 'systemd-device-blacklist'
            When = @{ Driver = 'Systemd'; Outcome = 'PropertiesDiffer'; Properties = @('DevicePolicy') }
        }
    )
}
