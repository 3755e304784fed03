"""The Streamlit page: an HTTP client of the Townsquare API (``streamlit run ui/page.py``)."""
