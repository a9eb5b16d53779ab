/** Workspace settings pages: members, tokens and the audit log each have their own module. */
export { AuditLogPage } from "./AuditLogPage";
export { MembersPage } from "./MembersPage";
export { TokensPage } from "./TokensPage";
