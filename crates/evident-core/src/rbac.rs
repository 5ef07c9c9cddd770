//! Roles and what each may do. The table here is the policy; callers ask, they never decide.

use crate::macros::named_enum;

named_enum! {
    /// A user's role in one organisation.
    pub enum Role as "role" {
        Admin = "admin",
        ComplianceManager = "compliance_manager",
        ControlOwner = "control_owner",
        /// Read-only; later limited to the evidence and period of the audits assigned.
        Auditor = "auditor",
        Viewer = "viewer",
    }
}

impl Role {
    /// Whether this role may do `permission`.
    pub fn can(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::ComplianceManager => !matches!(permission, OrgManage | MemberManage),
            Role::ControlOwner => {
                matches!(
                    permission,
                    Read | ControlEdit
                        | MappingWrite
                        | EvidenceAdd
                        | RiskEdit
                        | RiskAccept
                        | AssetWrite
                        | Export
                        | AuditLogRead
                )
            }
            Role::Auditor => matches!(permission, Read | Export | AuditLogRead),
            Role::Viewer => matches!(permission, Read),
        }
    }

    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL.iter().copied().filter(|p| self.can(*p)).collect()
    }

    /// Whether `other` may do everything this role may: a role "no higher" than `other`. An API
    /// token's role must be within its creator's.
    pub fn within(self, other: Role) -> bool {
        Permission::ALL.iter().all(|p| !self.can(*p) || other.can(*p))
    }
}

named_enum! {
    /// Something a user may be allowed to do inside an organisation.
    pub enum Permission as "permission" {
        /// See the organisation's frameworks, controls, mappings, SoA, risks and reports.
        Read = "read",
        /// Rename or configure the organisation.
        OrgManage = "org_manage",
        /// Add members and change their roles.
        MemberManage = "member_manage",
        /// Adopt a framework and choose its scope; import an organisation's own framework.
        FrameworkAdopt = "framework_adopt",
        /// Create, rename and retire controls.
        ControlManage = "control_manage",
        /// Edit a control's description, owner, frequency and status.
        ControlEdit = "control_edit",
        /// Map and unmap controls to requirements.
        MappingWrite = "mapping_write",
        /// Edit Statement of Applicability entries.
        SoaEdit = "soa_edit",
        /// Approve a Statement of Applicability version.
        SoaApprove = "soa_approve",
        /// Change the risk methodology.
        MethodologyManage = "methodology_manage",
        /// Create and edit risks and their treatment.
        RiskEdit = "risk_edit",
        /// Accept a risk's residual level (only its owner or an administrator, never a read-only role).
        RiskAccept = "risk_accept",
        /// Create and edit assets.
        AssetWrite = "asset_write",
        /// Add evidence and supersede it with a correction (a control owner: for their controls).
        EvidenceAdd = "evidence_add",
        /// Draw a Type 2 sample and record the exceptions found in it.
        SampleRecord = "sample_record",
        /// Import controls, mappings, assets or risks from a spreadsheet.
        Import = "import",
        /// Export reports and spreadsheets.
        Export = "export",
        /// Read the audit log and verify its chain.
        AuditLogRead = "audit_log_read",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for &role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
        assert!(Role::parse("owner").is_err());
    }

    #[test]
    fn read_only_roles_cannot_change_anything() {
        for role in [Role::Auditor, Role::Viewer] {
            let writes: Vec<_> = role
                .permissions()
                .into_iter()
                .filter(|p| !matches!(p, Permission::Read | Permission::Export | Permission::AuditLogRead))
                .collect();
            assert!(writes.is_empty(), "{role} may {writes:?}");
        }
        assert!(!Role::Viewer.can(Permission::Export));
    }

    #[test]
    fn only_admins_manage_members_and_only_managers_approve_the_soa() {
        let managers: Vec<_> = Role::ALL.iter().copied().filter(|r| r.can(Permission::MemberManage)).collect();
        assert_eq!(managers, [Role::Admin]);
        let approvers: Vec<_> = Role::ALL.iter().copied().filter(|r| r.can(Permission::SoaApprove)).collect();
        assert_eq!(approvers, [Role::Admin, Role::ComplianceManager]);
    }

    #[test]
    fn roles_are_ordered_by_what_they_may_do() {
        let order = [Role::Viewer, Role::Auditor, Role::ControlOwner, Role::ComplianceManager, Role::Admin];
        for (i, low) in order.iter().enumerate() {
            for (j, high) in order.iter().enumerate() {
                assert_eq!(low.within(*high), i <= j, "{low} within {high}");
            }
        }
    }

    #[test]
    fn control_owners_edit_but_do_not_create_or_retire_controls() {
        assert!(Role::ControlOwner.can(Permission::ControlEdit));
        assert!(!Role::ControlOwner.can(Permission::ControlManage));
        assert!(!Role::ControlOwner.can(Permission::FrameworkAdopt));
    }
}
