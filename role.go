package teaclave

import "strings"

// RoleKind is one of Teaclave's user roles (protocol §4.2).
type RoleKind uint8

// Role kinds. RoleInvalid is the zero value: an unparsed or unknown role
// grants nothing.
const (
	RoleInvalid RoleKind = iota
	RolePlatformAdmin
	RoleFunctionOwner
	RoleDataOwnerManager
	RoleDataOwner
)

// Role names as they appear in UserRegisterRequest.role and as the text
// before the first '-' of the claims form.
const (
	RoleNamePlatformAdmin    = "PlatformAdmin"
	RoleNameFunctionOwner    = "FunctionOwner"
	RoleNameDataOwnerManager = "DataOwnerManager"
	RoleNameDataOwner        = "DataOwner"
	RoleNameInvalid          = "Invalid"
)

// Role is a user's role with its attribute. The attribute matters only for
// DataOwnerManager and DataOwner (an organisation name, possibly empty).
type Role struct {
	Kind      RoleKind
	Attribute string
}

// NewRole builds a role from the registration form: a role name and a
// separate attribute field. Unknown names give RoleInvalid. The attribute
// is dropped for roles that do not carry one.
func NewRole(name, attribute string) Role {
	switch name {
	case RoleNamePlatformAdmin:
		return Role{Kind: RolePlatformAdmin}
	case RoleNameFunctionOwner:
		return Role{Kind: RoleFunctionOwner}
	case RoleNameDataOwnerManager:
		return Role{Kind: RoleDataOwnerManager, Attribute: attribute}
	case RoleNameDataOwner:
		return Role{Kind: RoleDataOwner, Attribute: attribute}
	}
	return Role{}
}

// ParseRole parses the claims and metadata form of a role: "PlatformAdmin",
// "FunctionOwner", "DataOwnerManager-<attr>" or "DataOwner-<attr>".
// Anything else is RoleInvalid, as in Teaclave.
func ParseRole(s string) Role {
	switch s {
	case RoleNamePlatformAdmin:
		return Role{Kind: RolePlatformAdmin}
	case RoleNameFunctionOwner:
		return Role{Kind: RoleFunctionOwner}
	}
	// DataOwner- is checked first, as Teaclave does; "DataOwnerManager-x"
	// does not start with "DataOwner-", so the order is unambiguous.
	if attr, ok := strings.CutPrefix(s, RoleNameDataOwner+"-"); ok {
		return Role{Kind: RoleDataOwner, Attribute: attr}
	}
	if attr, ok := strings.CutPrefix(s, RoleNameDataOwnerManager+"-"); ok {
		return Role{Kind: RoleDataOwnerManager, Attribute: attr}
	}
	return Role{}
}

// String returns the claims form of the role, the inverse of ParseRole.
func (r Role) String() string {
	switch r.Kind {
	case RolePlatformAdmin:
		return RoleNamePlatformAdmin
	case RoleFunctionOwner:
		return RoleNameFunctionOwner
	case RoleDataOwnerManager:
		return RoleNameDataOwnerManager + "-" + r.Attribute
	case RoleDataOwner:
		return RoleNameDataOwner + "-" + r.Attribute
	}
	return RoleNameInvalid
}

// Name returns the role's name without attribute, which is also the
// subject the access-control policy matches on.
func (r Role) Name() string {
	switch r.Kind {
	case RolePlatformAdmin:
		return RoleNamePlatformAdmin
	case RoleFunctionOwner:
		return RoleNameFunctionOwner
	case RoleDataOwnerManager:
		return RoleNameDataOwnerManager
	case RoleDataOwner:
		return RoleNameDataOwner
	}
	return RoleNameInvalid
}

// Valid reports whether r is a real role.
func (r Role) Valid() bool { return r.Kind != RoleInvalid }
