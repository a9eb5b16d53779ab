"""Word lists the demo generator draws from (names, places, catalogue).

Kept apart from the SQL so the generator reads as a sequence of set-wise statements.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Hugo", "Léa", "Louis",
    "Chloé", "Gabriel", "Ella", "Oscar", "Alice", "Elias", "Maja", "William", "Astrid", "Leo",
    "Sofia", "Matteo", "Giulia", "Lukas", "Hannah", "Jonas", "Clara", "Felix", "Nora", "Adam",
    "Inès", "Arthur", "Zoé", "Théo", "Freja", "Viktor", "Elin", "Anton", "Ebba", "Omar",
)  # fmt: skip

LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Smith", "Johnson", "Brown", "Müller", "Schmidt", "Rossi", "Russo",
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Garcia", "Fernandez", "Lopez", "Moreau", "Laurent", "Simon",
    "Janssen", "De Vries", "Peeters", "Nowak", "Kowalski", "Hansen", "Larsen", "Virtanen", "Murphy", "Kelly",
    "Fischer", "Weber", "Bianchi", "Romano", "Lindqvist", "Berg", "Dupont", "Leroy", "Petit", "Silva",
)  # fmt: skip

# (ISO country, dialling prefix, currency, cities)
COUNTRIES = (
    ("FR", "+33", "EUR", ("Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Lille")),
    ("SE", "+46", "SEK", ("Stockholm", "Göteborg", "Malmö", "Uppsala")),
    ("DE", "+49", "EUR", ("Berlin", "Hamburg", "München", "Köln", "Frankfurt")),
    ("GB", "+44", "GBP", ("London", "Manchester", "Birmingham", "Leeds", "Bristol")),
    ("US", "+1", "USD", ("New York", "Chicago", "Austin", "Seattle", "Boston", "Denver")),
    ("ES", "+34", "EUR", ("Madrid", "Barcelona", "Valencia", "Sevilla")),
    ("IT", "+39", "EUR", ("Roma", "Milano", "Torino", "Napoli")),
    ("NL", "+31", "EUR", ("Amsterdam", "Rotterdam", "Utrecht")),
)

# Weights of each country, same order as COUNTRIES (percent).
COUNTRY_WEIGHTS = (30, 15, 12, 12, 12, 7, 7, 5)

EMAIL_DOMAINS = (
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "hotmail.com",
    "icloud.com",
    "proton.me",
    "orange.fr",
)

# Ways a real CRM export spells an email wrong.
MALFORMED_EMAIL_PATTERNS = (
    "{local}.{domain}",
    "{local}@@{domain}",
    "{local} @{domain}",
    "{local}@",
    "@{domain}",
)

INDUSTRIES = ("Retail", "Software", "Healthcare", "Finance", "Manufacturing", "Education", "Media", "Travel")

COMPANY_WORDS = (
    "Nordic", "Blue", "Bright", "North", "Atlas", "Green", "Summit", "Pixel", "Urban", "Golden",
    "Silver", "River", "Peak", "Swift", "Solar", "Cedar", "Harbor", "Lumen", "Vertex", "Orbit",
)  # fmt: skip

COMPANY_SUFFIXES = ("Labs", "Group", "Studio", "Partners", "Systems", "Works", "Collective", "Co")

# (category, typical price low, typical price high)
CATEGORIES = (
    ("Shoes", 40, 180),
    ("Outerwear", 60, 350),
    ("T-shirts", 10, 45),
    ("Jeans", 35, 140),
    ("Accessories", 8, 90),
    ("Bags", 25, 300),
    ("Sportswear", 20, 120),
    ("Beauty", 6, 80),
)

BRANDS = ("Fjällö", "Northwind", "Maison Clé", "Urbanist", "Kestrel", "Loma", "Tidewater", "Brisk")

PRODUCT_ADJECTIVES = (
    "Classic",
    "Essential",
    "Light",
    "Everyday",
    "Premium",
    "Recycled",
    "Organic",
    "Signature",
)

LOYALTY_TIERS = ("bronze", "silver", "gold", "platinum")

# Event mix of the browsing stream (percent); purchases come from orders.
EVENT_WEIGHTS = (
    ("page_view", 45),
    ("product_view", 28),
    ("add_to_cart", 10),
    ("email_open", 12),
    ("email_click", 5),
)

CHANNELS = ("web", "app", "store")
PAGES = ("/", "/new", "/sale", "/women", "/men", "/kids", "/stores", "/help", "/account", "/cart")
