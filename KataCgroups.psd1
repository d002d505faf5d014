@{
    RootModule             = 'KataCgroups.PowerShell.dll'
    ModuleVersion          = '0.1.0'
    GUID                   = '6f1d6a7e-2b0c-4d8e-9a51-3c7e0b9d4f12'
    Author                 = 'KataCgroups contributors'
    CompanyName            = 'KataCgroups'
    Copyright              = '(c) KataCgroups contributors. Apache-2.0.'
    Description            = 'Create, configure, join and remove Linux cgroups for Kata-style virtualized containers: cgroupfs v1/hybrid, cgroupfs v2 (eBPF devices) and systemd (transient scopes over D-Bus), with Kata path rules, hypervisor devices and OCI resources.'
    PowerShellVersion      = '7.4'
    CompatiblePSEditions   = @('Core')
    FormatsToProcess       = @('KataCgroups.Format.ps1xml')
    TypesToProcess         = @('KataCgroups.Types.ps1xml')
    CmdletsToExport        = @(
        'New-KataCgroup'
        'Get-KataCgroup'
        'Set-KataCgroupResource'
        'Add-KataCgroupProcess'
        'Get-KataCgroupPath'
        'Remove-KataCgroup'
        'Test-KataCgroupHost'
        # [threads and sandboxes]
        'Move-KataCgroupProcess'
        'New-KataSandbox'
        'Get-KataSandbox'
        'Add-KataSandboxVmm'
        'Remove-KataSandbox'
        # [stats]
        'Get-KataCgroupStat'
        # [events]
        'Wait-KataCgroupEvent'
        # [freezer]
        'Suspend-KataCgroup'
        'Resume-KataCgroup'
        # [devices]
        'Add-KataCgroupDevice'
        'Remove-KataCgroupDevice'
        # [export]
        'Export-KataCgroup'
    )
    FunctionsToExport      = @()
    AliasesToExport        = @()
    VariablesToExport      = @()
    PrivateData            = @{
        PSData = @{
            Tags = @('cgroups', 'kata', 'containers', 'linux', 'oci')
            # ReleaseNotes: build.ps1 writes this version's section of CHANGELOG.md into the built manifest.
        }
    }
}
