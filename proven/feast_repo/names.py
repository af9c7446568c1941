"""Names in the generated Feast repository (kept in step with definitions.py, which is
copied into the repository on its own and so cannot import this module)."""

PROJECT = "infragap_features"
ENTITY_KEY = "user_id"
REQUEST_TIME = "request_ts"
FEATURE_SERVICE = "purchase_model"
PROFILE_VIEW = "user_profile"
ACTIVITY_VIEW = "user_activity"
AGE_VIEW = "user_age"
# The model's features, in the order the model takes them.
MODEL_FEATURES = ("age_bucket", "location_code", "events_7d", "events_30d", "purchases_30d")
# When the activity snapshot a value comes from was taken (epoch seconds): not a model
# feature, retrieved to audit point-in-time correctness.
AS_OF_REF = f"{ACTIVITY_VIEW}:as_of_ts"
PROFILE_FILE = "user_profile.parquet"
ACTIVITY_FILE = "user_activity.parquet"
DEFINITIONS_FILE = "features.py"
