package referralapi

import "time"

// ContactRequest tells where a user's email goes (a product backend).
type ContactRequest struct {
	// Email is a plain address (no display name).
	Email string `json:"email" validate:"required" maxLength:"254" example:"jane@example.com"`
	// Locale is a BCP 47 language tag for the user's emails (en, de,
	// pt-BR); absent or empty: English.
	Locale string `json:"locale" maxLength:"35" example:"en"`
}

// Contact is where a user's email goes.
type Contact struct {
	UserID string `json:"userId" validate:"required" example:"u1"`
	Email  string `json:"email" validate:"required" example:"jane@example.com"`
	// Locale is the user's BCP 47 language tag ("en" when none was given).
	Locale string `json:"locale" validate:"required" example:"en"`
	// Source is who gave the address: the product backend (service) or
	// the email claim of the user's token (token). A backend's address is
	// kept over what tokens say.
	Source    string    `json:"source" validate:"required" enums:"service,token" example:"service"`
	UpdatedAt time.Time `json:"updatedAt" validate:"required" format:"date-time"`
}

// NotificationSettings are the emails a user wants.
type NotificationSettings struct {
	Email EmailNotifications `json:"email" validate:"required"`
}

// EmailNotifications switches each email on or off. Until a user chooses:
// referralQualified and payoutPaid on, referralCreated and rewardAvailable off.
type EmailNotifications struct {
	// ReferralCreated is the email when someone signs up with the user's code.
	ReferralCreated bool `json:"referralCreated" validate:"required" example:"false"`
	// ReferralQualified is the email when a referral's payment earns the user a reward.
	ReferralQualified bool `json:"referralQualified" validate:"required" example:"true"`
	// RewardAvailable is the email when a reward's hold ends and it becomes payable.
	RewardAvailable bool `json:"rewardAvailable" validate:"required" example:"false"`
	// PayoutPaid is the email when the user is paid.
	PayoutPaid bool `json:"payoutPaid" validate:"required" example:"true"`
}
